//! The phrases the rules look for, over text the reader has normalised: lowercase, no punctuation
//! or apostrophes, numbers as `#`, the spellings of [`SPELLINGS`] made standard and a letter held
//! down ("hiii", "pleaseee") typed once.
//!
//! Weights: 5 and 4 for phrases that can mean only one thing ("pay back", "wrong number"), 3 for a
//! request's own words ("balance", "statement"), 2 for a verb that usually carries it ("send",
//! "pay"), 1 for a hint (a greeting before a request). Add a phrase when `teller nlu eval` shows a
//! sentence of `nlu/eval.yaml` misread, never for one of `nlu/holdout.yaml`.

use super::Intent;

/// Short forms and common misspellings, and the word each stands for.
pub const SPELLINGS: &[(&str, &str)] = &[
    ("acct", "account"),
    ("acc", "account"),
    ("accnt", "account"),
    ("acount", "account"),
    ("accout", "account"),
    ("bal", "balance"),
    ("balnce", "balance"),
    ("blance", "balance"),
    ("balence", "balance"),
    ("balace", "balance"),
    ("balanc", "balance"),
    ("trf", "transfer"),
    ("trsf", "transfer"),
    ("trans", "transfer"),
    ("tranfer", "transfer"),
    ("trasfer", "transfer"),
    ("transfa", "transfer"),
    ("tranfa", "transfer"),
    ("hw", "how"),
    ("wat", "what"),
    ("wht", "what"),
    ("wot", "what"),
    ("u", "you"),
    ("ur", "your"),
    ("wnt", "want"),
    ("wanna", "want"),
    ("pls", "please"),
    ("plz", "please"),
    ("pliz", "please"),
    ("mny", "money"),
    ("chk", "check"),
    ("stmt", "statement"),
    ("statment", "statement"),
    ("2day", "today"),
    ("lone", "loan"),
    ("borow", "borrow"),
    ("hellow", "hello"),
    ("helo", "hello"),
    ("howfar", "how far"),
    ("howfa", "how far"),
];

/// (intent, weight, pattern over the normalised text).
pub const PATTERNS: &[(Intent, u8, &str)] = &[
    // Balance
    (Intent::Balance, 3, r"\bbalance\b"),
    (
        Intent::Balance,
        3,
        r"\bhow much (money |cash )?(do i have|i have|have i got|is (in|on|left in) my|is left|remain|remains|dey|i get)\b",
    ),
    (Intent::Balance, 2, r"\bhow much\b"),
    (Intent::Balance, 3, r"\bremain how much\b"),
    (Intent::Balance, 3, r"\bwetin (remain|dey)( for| inside| in)?( my)? (account|wallet)\b"),
    (Intent::Balance, 3, r"\bcheck (my )?(account|wallet)\b"),
    (Intent::Balance, 3, r"\b(money|cash|funds?)\b.{0,20}\b(in|inside|for|dey|on)( my)? (account|wallet)\b"),
    (Intent::Balance, 3, r"\b(whats|what is|what) left\b"),
    (Intent::Balance, 3, r"\bhow my (account|wallet) be\b"),
    (Intent::Balance, 2, r"\benough money\b"),
    (Intent::Balance, 3, r"\b(my )?account (number|no|num)\b"),
    (Intent::Balance, 3, r"\bwetin be my account\b"),
    // Fund: money in, from another bank
    (Intent::Fund, 5, r"\b(fund|top ?up|topup|credit|load)( my| the)? (account|wallet|acct)\b"),
    (
        Intent::Fund,
        5,
        r"\b(add|put|deposit|send|transfer|move|bring|pay) (some )?(money|cash|funds?)( in| inside| into| to| for| enter)( my| the)? (account|wallet|acct)\b",
    ),
    (Intent::Fund, 5, r"\b(add|put|deposit) (money|cash|funds?)\b"),
    (
        Intent::Fund,
        5,
        r"\bhow (do|can|will) i (add|put|deposit|send|get) (money|cash|funds?) (in|into|to|on)\b",
    ),
    (Intent::Fund, 5, r"\bhow i (go|fit|wan) (put|add) (money|cash)\b"),
    // Asking how: "how I go take put money for my account" (not money taken from it, a complaint)
    (Intent::Fund, 6, r"\bhow\b.{0,16}\b(put|add|deposit) (money|cash|funds?)\b"),
    (Intent::Fund, 5, r"\b(what|which) account (number |no )?(do|should|can|will) i (send|pay|transfer)\b"),
    (Intent::Fund, 5, r"\b(deposit|fund|funding)\b"),
    (Intent::Fund, 5, r"\baccount (number )?(to|for) (fund|pay into|send money to|deposit)\b"),
    // Airtime: for a phone line (a network's name alone is a hint)
    (Intent::Airtime, 6, r"\b(airtime|air time|recharge|recharge card|recharge my (line|phone|number))\b"),
    (Intent::Airtime, 6, r"\bload\b.{0,24}\b(mtn|airtel|glo|9mobile|etisalat|card|line|phone)\b"),
    (Intent::Airtime, 6, r"\b(buy|send|get|load|want|wan) (me )?(some |small )?(card|call credit)\b"),
    // "buy 200 credit for 0803…", "abeg buy 1k card for my sister": an amount before "credit"
    // or "card" is airtime's, not a transfer's
    (Intent::Airtime, 6, r"\b(buy|send|get|load|need) (me )?# (naira )?(credit|card|recharge card)\b"),
    (Intent::Airtime, 4, r"\btop ?up\b"),
    (Intent::Airtime, 3, r"\b(mtn|airtel|glo|9mobile|etisalat)\b"),
    // Data: a plan, a bundle, a size
    (Intent::Data, 7, r"\b(data|data plan|data bundle|databundle|internet bundle|bundle)\b"),
    (Intent::Data, 7, r"\b(datasize|# (gb|mb|gig|gigs))\b"),
    (Intent::Data, 7, r"\b(subscribe|sub)\b.{0,16}\b(mtn|airtel|glo|9mobile|internet|browsing)\b"),
    (Intent::Data, 3, r"\b(browse|browsing)\b"),
    // Opening an account: a new one ("open my account" is about one the customer has)
    (
        Intent::OpenAccount,
        5,
        r"\b(open|opening|create|creating)( me)?( an?| one| new| a new| another)? (account|wallet)\b",
    ),
    (Intent::OpenAccount, 5, r"\b(register|registration|sign ?up|signup|enrol|enroll)( me)?\b"),
    // What opening one needs, asked before opening it ("wetin I need to open account"): a
    // question, so "I need a new account" stays a request to open one
    (
        Intent::Requirements,
        6,
        r"\b(what|wat|wetin|which)\b.{0,24}\b(need|needed|require|required|requirements?|documents?|papers?|things)\b.{0,24}\b(open|opening|create|creating|register|registration|sign ?up|signup)\b",
    ),
    (
        Intent::Requirements,
        6,
        r"\b(requirements?|documents?|papers?)\b.{0,20}\b(to|for) (open|opening|create|creating|register|registration|sign ?up|signup)\b|\b(account|acct) opening (requirements?|documents?)\b",
    ),
    (
        Intent::Requirements,
        6,
        r"\b(do|does|will) (i|one|you|person) need\b.{0,24}\b(bvn|nin|id|passport|documents?|papers?)\b",
    ),
    // Their own BVN or NIN: without it, not knowing it, asking what it is or how to find it:
    // "I no get BVN" (not "I no get the money", a complaint), "I don't know my NIN", "wetin be
    // BVN", "how do I check my BVN", "which NIN did I use", "mi ò ní BVN"
    (
        Intent::IdNumber,
        6,
        r"\b(no|not|dont|do not|never|didnt|cant|cannot) (get|have|got|know|sabi|remember|find|see)\b.{0,12}\b(bvn|nin)\b",
    ),
    (Intent::IdNumber, 6, r"\b(what|wetin) (is|be|does|mean|means)\b.{0,8}\b(bvn|nin)\b"),
    // ("I forgot my PIN, my BVN is …" is a forgotten PIN)
    (
        Intent::IdNumber,
        6,
        r"\b(forgot|forget|forgotten|lost|misplaced)( my| the| am| dat| that)? (bvn|nin)\b",
    ),
    (Intent::IdNumber, 6, r"\b(bvn|nin)\b.{0,20}\b(comot|commot) (for|from) my (head|brain|mind)\b"),
    (
        Intent::IdNumber,
        6,
        r"\b(how|where|wetin)\b.{0,24}\b(get|find|check|see|know|retrieve|recover)\b.{0,8}\b(bvn|nin)\b",
    ),
    (Intent::IdNumber, 6, r"\b(check|see|know|retrieve|recover)( my)? (bvn|nin)\b"),
    (
        Intent::IdNumber,
        6,
        r"\b(which|what|wetin)( be)? (bvn|nin)\b.{0,24}\b(use|used|register|registered|give|gave)\b",
    ),
    (Intent::IdNumber, 6, r"^(my |wetin be my |what is my |whats my )?(bvn|nin)( number)?$"),
    (
        Intent::IdNumber,
        6,
        r"\b(mi o ni|mi ko ni|n ko ni|ba ni da|bani da|bana da|enweghi m|amaghi m)\b.{0,8}\b(bvn|nin)\b",
    ),
    // Fees and limits: what sending costs, how much may be sent ("charged twice" is not one)
    (Intent::Fees, 4, r"\b(fees?|charges?|commission|limits?|maximum)\b"),
    (Intent::Fees, 4, r"\bhow much (can|fit) i (send|transfer)\b|\bhow much i (can|fit) (send|transfer)\b"),
    (Intent::Fees, 4, r"\bhow much (does|do|will|go) (it|you|una|e) (cost|charge|collect|take)\b"),
    (Intent::Fees, 4, r"\bhow much una (dey )?(charge|collect|take|cut)\b"),
    (Intent::Fees, 4, r"\bcost (to|of) (send|sending|transfer|transferring)\b"),
    // What is left to send today, or what was sent: the day's limit, not the balance.
    (Intent::Fees, 6, r"\bhow much\b.{0,30}\b(send|sent|transfer|transferred)\b.{0,20}\btoday\b"),
    (
        Intent::Fees,
        6,
        r"\b(left|remain|remaining)\b.{0,24}\b(send|transfer|limit)\b|\blimit\b.{0,16}\b(left|remain|remaining)\b",
    ),
    // What opening an account costs is a question about fees, not a request to open one.
    (
        Intent::Fees,
        6,
        r"\b(how much|cost|costs|price|pay|paying|free|charge|charges|fee|collect)\b.{0,30}\b(open|opening|create|creating)\b.{0,12}\b(account|acct|wallet)\b",
    ),
    (
        Intent::Fees,
        6,
        r"\b((open|opening|create|creating)\b.{0,12}\b(account|acct|wallet)|(account|acct) opening)\b.{0,20}\b(free|cost|costs|charge|charges|fee|fees|price)\b",
    ),
    // Transfer
    (Intent::Transfer, 3, r"\b(send|transfer|wire|move)( some)? (money|cash|funds)\b"),
    (Intent::Transfer, 3, r"\b(make|run|do) (a )?transfer\b"),
    (Intent::Transfer, 2, r"\b(send|transfer|wire|remit|move|pay|dash)\b"),
    // Statement
    (Intent::Statement, 3, r"\b(mini )?statement\b"),
    (Intent::Statement, 3, r"\b(history|transactions?|activity|payments|alerts?|debits|credits)\b"),
    (Intent::Statement, 3, r"\bwhat (did|have) i (spend|spent|buy|bought|pay|paid)\b"),
    (Intent::Statement, 3, r"\bwetin i (don )?(spend|use)\b"),
    (Intent::Statement, 3, r"\bwhere (did )?my money (dey )?(go|going|went)\b"),
    (Intent::Statement, 3, r"\b(money wey|wetin|what) (don )?(enter|entered|comot|came|come|went|go)\b"),
    (Intent::Statement, 3, r"\bdid my (salary|money|payment|pay) (come|enter|arrive)\b"),
    (Intent::Statement, 3, r"\bdid i (receive|get) any\b"),
    (
        Intent::Statement,
        4,
        r"\b(who|anybody|anyone|somebody|someone)\b.{0,12}\b(send|sent|pay|paid|credit|credited) me\b",
    ),
    // Loan
    (Intent::Loan, 6, r"\blend me\b"),
    (Intent::Loan, 6, r"\bborrow me\b"),
    (Intent::Loan, 4, r"\bborrow\b"),
    (Intent::Loan, 3, r"\bloans?\b"),
    (Intent::Loan, 3, r"\bquick cash\b"),
    (Intent::Loan, 4, r"\b(qualify|eligible)\b"),
    // Repay
    (Intent::Repay, 5, r"\brepay\w*\b"),
    (Intent::Repay, 5, r"\bpay (it |the loan |my loan |una |them |you )?back\b"),
    (Intent::Repay, 4, r"\b(pay|settle|clear|offset)( off| back)?( my| the)? (loan|debt)\b"),
    (Intent::Repay, 4, r"\bsettle (una|you|them|it|am)\b"),
    (Intent::Repay, 4, r"\bpay .{0,24}\b(for|towards|into|on) (my |the )?loan\b"),
    (Intent::Repay, 4, r"\bloan\b.{0,12}\b(status|balance|due|remain|left|outstanding)\b"),
    (Intent::Repay, 4, r"\b(outstanding|left on|remain for|due date of)( my| the)? loan\b"),
    (Intent::Repay, 4, r"\bcheck (my |the )?loan\b"),
    (Intent::Repay, 4, r"\bwhen\b.*\bloan\b.*\bdue\b"),
    (Intent::Repay, 4, r"\bhow my loan be\b"),
    (Intent::Repay, 4, r"^my loan$"),
    (Intent::Repay, 4, r"\b(owe|my debt)\b"),
    // Help
    (Intent::Help, 3, r"\b(help|support|assist|assistance|problem|issue|menu|options|services)\b"),
    (Intent::Help, 3, r"\bhow\b.*\bwork\b"),
    (Intent::Help, 3, r"\b(not|no|isnt|never) (dey )?work(ing)?\b"),
    (Intent::Help, 3, r"\b(what can|wetin) (you|i|una) (fit )?do\b"),
    (Intent::Help, 3, r"\b(what|wetin) (to|i go|i fit|i should|should i|can i) do\b"),
    (Intent::Help, 3, r"\b(dont|do not|no) (understand|know|sabi)\b"),
    (Intent::Help, 3, r"\bhow (to|i go|do i|can i) (take )?use\b"),
    (Intent::Help, 3, r"\bsomething (is )?wrong\b"),
    // A person
    (Intent::Person, 4, r"\b(agent|agents|human|staff|customer (care|service)|real person|live person)\b"),
    (
        Intent::Person,
        4,
        r"\b(talk|speak|chat|yarn) (to|with) (a |an |one |some |una |your )?(person|someone|somebody|agent|staff)\b",
    ),
    (Intent::Person, 4, r"\b(need|want|wan|see|find|get) (a |one )?person\b"),
    (Intent::Person, 4, r"\b(who|which number) (do|can|should) i call\b"),
    (Intent::Person, 4, r"\b(call|phone) me\b"),
    // A complaint
    (Intent::Complaint, 5, r"\b(complain|complaint|complaints|refund|reverse|reversal)\b"),
    (
        Intent::Complaint,
        5,
        r"\b(deducted|debited|debit me|cut my money|remove(d)? (the )?money|wrong debit)\b",
    ),
    (Intent::Complaint, 5, r"\bwrong (number|account|person)\b"),
    // Money taken from the account, or gone from it and not arrived: "dem commot money from my
    // account", "money comot for my account but e no reach", "why money dey comot from my
    // account" (not "money left in my account", a balance; nor "the money wey comot my
    // account", the debits a statement lists)
    (
        Intent::Complaint,
        5,
        r"\b(took|take|taken|carry|carried|comot|commot|collect|collected)\b.{0,15}\bmoney\b.{0,15}\b(from|for|out of) (my|our) (account|wallet)\b",
    ),
    (
        Intent::Complaint,
        5,
        r"\bmoney\b.{0,10}\b(comot|commot|go out|went out|leave|left)( from| for| of| out of)? (my|our|the) (account|wallet)\b.{0,30}\b(no|never|not|didnt|without)\b",
    ),
    (Intent::Complaint, 5, r"\bwhy\b.{0,15}\bmoney\b.{0,10}\b(comot|commot|go out|leave|leaving|left)\b"),
    (Intent::Complaint, 5, r"\bfailed\b"),
    (
        Intent::Complaint,
        5,
        r"\b(money|transfer|alert|credit|payment)\b.{0,20}\b(no|never|did not|didnt|has not|hasnt|not) (enter|come|reach|arrive|go|reflect|reflected|received)\b",
    ),
    (
        Intent::Complaint,
        5,
        r"\b(never|not|no) (credit|credited|receive|received|get|got)\b.{0,20}\b(me|money|credit)?\b",
    ),
    (
        Intent::Complaint,
        5,
        r"\b(did not|didnt|never) (receive|get|see) (the|my|any)? ?(money|alert|credit|payment)\b",
    ),
    // Block the account
    (Intent::Block, 6, r"\b(block|freeze|disable|lock|suspend) (my |the |this )?(account|wallet|card|am)\b"),
    (
        Intent::Block,
        6,
        r"\b(hack|hacked|hacker|hackers|fraud|fraudster|scam|scammer|scammers|stolen|thief)\b",
    ),
    (Intent::Block, 6, r"\b(lost|lose|steal|stole|missing) (my )?phone\b"),
    (Intent::Block, 6, r"\bphone\b.{0,12}\b(lost|missing|stolen)\b"),
    (
        Intent::Block,
        6,
        r"\b(someone|somebody|person) (is |dey |don )?(using|use|enter|entered|access|accessed) my (account|wallet)\b",
    ),
    // How a complaint stands
    (Intent::ComplaintStatus, 7, r"\bticketref\b"),
    (Intent::ComplaintStatus, 7, r"^(my|the) (complaint|ticket|case)$"),
    (Intent::ComplaintStatus, 7, r"\b(status|update|news)\b.{0,12}\b(complaint|ticket|case)\b"),
    (
        Intent::ComplaintStatus,
        7,
        r"\b(complaint|ticket|case)\b.{0,12}\b(status|open|resolved|solved|reach where|dey go|how e dey)\b",
    ),
    (
        Intent::ComplaintStatus,
        7,
        r"\b(check|happened to|happen to|about|solve|solved|resolve|resolved) (my|the) (complaint|ticket|case)\b",
    ),
    (Intent::ComplaintStatus, 7, r"\bcomplaint\b.{0,40}\b(before|earlier)\b"),
    // Greeting: a whole message of greeting words, or one before a request.
    (
        Intent::Greeting,
        2,
        r"^(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening|day)|how far|how (you|una) dey|wetin dey|how body|morning|evening)( (hi|hello|hey|good (morning|afternoon|evening|day)|o|na|there|sir|ma|teller|bot|my guy|my person|boss|oga|bro|dear|everyone|una))*$",
    ),
    (Intent::Greeting, 1, r"^(hi|hello|hey|good (morning|afternoon|evening|day)|how far)\b"),
    // Cancel
    (
        Intent::Cancel,
        3,
        r"^(please |abeg )?(cancel|stop|quit|exit|end|abort)( it| am| that| this| please| abeg| o| now| the| my| transfer| transaction| payment| request)*$",
    ),
    (
        Intent::Cancel,
        3,
        r"\b(never ?mind|forget (it|am|that)|leave (it|am|that|this)|(don )?change(d)? my mind)\b",
    ),
    (Intent::Cancel, 3, r"\b(i )?(no|dont) (want|wan) (do )?(am |it )?again\b"),
    (Intent::Cancel, 3, r"\b(dont|do not|no) (want|wan)( to)? (continue|proceed|go on)\b"),
    (Intent::Cancel, 3, r"\b(dont|do not|no) (send|do) (it|am|that|this|the money)\b"),
    (Intent::Cancel, 2, r"\b(cancel|stop)\b"),
    // Owning up to a slip, as a whole message: "na mistake", "I tapped it by mistake".
    (
        Intent::Cancel,
        3,
        r"^((oops|sorry|abeg|ah|ehn|o) )*(that was |it was |that is |this is |i made |i make |na |e be )?(a |an )?(mistake|error|wrong one|wrong button|wrong option)( i (press|pressed|click|clicked|tap|tapped|choose|chose|pick|picked))?( (o|oo|sorry|abeg|please|pls))*$",
    ),
    (
        Intent::Cancel,
        3,
        r"^((oops|sorry) )?(i )?(mistakenly|accidentally) (press|pressed|click|clicked|tap|tapped|select|selected|choose|chose|pick|picked)( (am|it|that|this))?( (o|sorry|abeg))*$",
    ),
    (
        Intent::Cancel,
        3,
        r"^((oops|sorry) )?(i )?(press|pressed|click|clicked|tap|tapped|select|selected|choose|chose|pick|picked)( (am|it|that|this))? (the )?(wrong (one|button|option|thing)|by (mistake|error|accident))( (o|sorry|abeg))*$",
    ),
    // Change the PIN
    (
        Intent::ChangePin,
        4,
        r"\b(change|update|set|new|another)( my| the| a| one)? (pin|pin number|password)\b",
    ),
    (Intent::ChangePin, 4, r"\b(pin|password) change\b"),
    (Intent::ChangePin, 4, r"\bpin\b.{0,30}\bchange (am|it)\b"),
    // A forgotten PIN: a new one for a PIN the customer does not know (a reset is that too)
    (Intent::ForgotPin, 5, r"\b(forgot|forget|forgotten|lost|lose|misplaced)\b.{0,20}\b(pin|password)\b"),
    (
        Intent::ForgotPin,
        5,
        r"\b(cant|can ?not|dont|do not|didnt|no) (remember|recall|know|sabi)( my| the)?( transaction)? (pin|password)\b",
    ),
    (Intent::ForgotPin, 5, r"\b(reset|recover|retrieve)( my| the| a)?( transaction)? (pin|password)\b"),
    // "I forgot", the PIN left unsaid, as a whole message: what a PIN question hears ("forget
    // it", with no one forgetting, is a cancel).
    (
        Intent::ForgotPin,
        3,
        r"^((sorry|abeg|ah|oh|oops) )*(i (have |don |done |just )?(forgot|forget|forgotten)|(have |don )?(forgot|forgotten))( (it|am|o|oo|sorry|abeg))*$",
    ),
    (
        Intent::ForgotPin,
        3,
        r"^((sorry|abeg|ah|oh) )*(i )?(cant|cannot|can not|no|dont|do not|no fit) (remember|recall|remember am|sabi am)( (it|am|again|o|oo|sorry|abeg))*$",
    ),
    (Intent::ForgotPin, 5, r"\bpin\b.{0,20}\b(comot|commot) (for|from) my (head|brain|mind)\b"),
    (Intent::ForgotPin, 5, r"\b(pin|password) reset\b|\bpin\b.{0,30}\breset (am|it)\b"),
];
