//! What the engine itself says, in every shipped language: global words, timeouts, resume
//! offers and the default reasons an answer is refused. Flow files say everything else.

use super::graph::normalise;
use super::input::Rejection;
use crate::locale::{self, Texts};
use crate::money::{self, AmountError};

/// A phrase of the engine's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    /// After `cancel`.
    Cancelled,
    /// After `cancel` in a flow that moves money, before any moved.
    CancelledNothingSent,
    /// `cancel` with nothing going on.
    NothingToCancel,
    /// Coming back long after a session expired.
    TimedOut,
    /// Coming back to an expired money flow: it is not resumed.
    MoneyTimedOut,
    /// Coming back shortly after a session expired.
    ResumeOffer,
    /// The resume button.
    Resume,
    /// The start-again button.
    Restart,
    /// Too many refused answers: on to help.
    TooManyTries,
    /// Too many refused answers in a flow that moves money, before any moved.
    TooManyTriesNothingSent,
    /// A voice note, picture or other message the question cannot take.
    TextOnly,
    /// The flows changed under an unfinished session that cannot continue.
    FlowsUpdated,
    /// A flow led nowhere (a bug, never the customer's fault).
    Broken,
    /// The button that opens a list.
    ListButton,
    /// The row that shows further options.
    MoreOptions,
    /// The row on the last page that goes back to the first.
    FirstOptions,
    /// The yes button.
    Yes,
    /// The no button.
    No,
    /// Before the transcript of a voice note: what teller understood.
    Heard,
    /// A voice note that cannot be heard (no transcription, or it failed).
    VoiceUnavailable,
    /// A voice note where a PIN or a code is expected: never spoken aloud.
    VoiceForSecret,
    /// Messages faster than anyone types: said once, then the rest of the minute is ignored.
    SlowDown,
    /// The customer wrote recently but their session is gone (the KV was restarted).
    SessionLost,
    /// Digits that may be a PIN, sent when the bot did not ask for one: a kind reminder.
    PinReminder,
    /// A tap on a button of an earlier message: refused, nothing done.
    StaleTap,
    /// A form (a WhatsApp Flow) sent back after its question moved on or its time ran out.
    StaleForm,
    /// A customer known only by their username asked to move money.
    LinkPhoneNumber,
    /// The button that opens the PIN form.
    PinFormButton,
    /// The button that opens the registration form.
    SignupFormButton,
    /// The button that opens the code form.
    CodeFormButton,
    /// The language was switched with a word ("pidgin", "english").
    LanguageSet,
    /// "Thank you": answered in kind.
    YouAreWelcome,
    /// A greeting returned, before the menu.
    GreetingBack,
    /// Misunderstood a few times: the numbered menu follows.
    MissedFewTimes,
    /// The first message that goes to customer care rather than the bot.
    WithCareTeam,
    /// A rating of the care the customer got, received.
    ThanksForRating,
}

impl Phrase {
    /// Every phrase.
    pub const ALL: [Phrase; 36] = {
        use Phrase::*;
        [
            Cancelled,
            CancelledNothingSent,
            NothingToCancel,
            TimedOut,
            MoneyTimedOut,
            ResumeOffer,
            Resume,
            Restart,
            TooManyTries,
            TooManyTriesNothingSent,
            TextOnly,
            FlowsUpdated,
            Broken,
            ListButton,
            MoreOptions,
            FirstOptions,
            Yes,
            No,
            Heard,
            VoiceUnavailable,
            VoiceForSecret,
            SlowDown,
            SessionLost,
            PinReminder,
            StaleTap,
            StaleForm,
            LinkPhoneNumber,
            PinFormButton,
            SignupFormButton,
            CodeFormButton,
            LanguageSet,
            YouAreWelcome,
            GreetingBack,
            MissedFewTimes,
            WithCareTeam,
            ThanksForRating,
        ]
    };
}

/// `phrase` in `language` (English when teller does not ship it).
pub fn say(language: &str, phrase: Phrase) -> &'static str {
    PHRASES.iter().find(|(p, _)| *p == phrase).map_or("", |(_, texts)| locale::pick(texts, language))
}

/// Every phrase in every language (a test checks none is missing).
const PHRASES: &[(Phrase, Texts)] = {
    use Phrase::*;
    &[
        (
            Cancelled,
            [
                "Okay, I have stopped. Reply \"menu\" whenever you want to start again.",
                "Okay, I don stop am. Reply \"menu\" anytime wey you wan start again.",
            ],
        ),
        (
            CancelledNothingSent,
            [
                "Okay, I have stopped. No money was sent. Reply \"menu\" whenever you want to start again.",
                "Okay, I don stop am. We no send any money. Reply \"menu\" anytime wey you wan start again.",
            ],
        ),
        (
            NothingToCancel,
            [
                "There is nothing to cancel. Reply \"menu\" to see what I can do.",
                "Nothing dey to cancel. Reply \"menu\" to see wetin I fit do.",
            ],
        ),
        (
            TimedOut,
            [
                "Our last chat timed out, so we are starting again.",
                "Our last chat don time out, so we go start again.",
            ],
        ),
        (
            MoneyTimedOut,
            [
                "⚠️ For your safety, I stopped what you were doing because it was left for a while. Nothing more will happen with it. Reply \"menu\" to start again.",
                "⚠️ Because of your safety, I don stop wetin you dey do because you leave am for long. Nothing go happen with am again. Reply \"menu\" to start again.",
            ],
        ),
        (
            ResumeOffer,
            [
                "Welcome back. You had not finished what you started. Continue where you stopped, or start again?",
                "Welcome back. You never finish wetin you start. You wan continue from where you stop, or start again?",
            ],
        ),
        (Resume, ["Continue", "Continue"]),
        (Restart, ["Start again", "Start again"]),
        (
            TooManyTries,
            [
                "That did not work a few times, so let us try another way.",
                "E no work after some tries, so make we try another way.",
            ],
        ),
        (
            TooManyTriesNothingSent,
            [
                "That did not work a few times, so I stopped there. No money was sent.",
                "E no work after some tries, so I stop am. We no send any money.",
            ],
        ),
        (
            TextOnly,
            [
                "I can only read typed messages here. Please type your answer.",
                "Na only message wey you type I fit read for here. Abeg type your answer.",
            ],
        ),
        (
            FlowsUpdated,
            [
                "We have just updated this service, so we are starting again.",
                "We just update this service, so we go start again.",
            ],
        ),
        (
            Broken,
            [
                "⚠️ Something went wrong on our side. Reply \"menu\" to start again.",
                "⚠️ Something spoil for our side. Reply \"menu\" to start again.",
            ],
        ),
        (ListButton, ["Choose", "Choose"]),
        (MoreOptions, ["More options", "See more"]),
        (FirstOptions, ["Back to the first ones", "Go back to the first"]),
        (Yes, ["Yes", "Yes"]),
        (No, ["No", "No"]),
        (Heard, ["🎙️ I heard:", "🎙️ Wetin I hear:"]),
        (
            VoiceUnavailable,
            [
                "Sorry, I cannot listen to voice notes here. Please type your message, e.g. \"balance\" or \"send 5k to 0803 123 4567\".",
                "Sorry, I no fit hear voice note for here. Abeg type your message, like \"balance\" or \"send 5k to 0803 123 4567\".",
            ],
        ),
        (
            SlowDown,
            [
                "You are sending messages faster than I can answer them. Please wait a minute, then send your message again.",
                "You dey send message pass as I fit answer. Abeg wait one minute, then send your message again.",
            ],
        ),
        (
            SessionLost,
            [
                "⚠️ Sorry, a problem on our side made me lose our place in this chat, so we are starting again. Anything you already confirmed is done: reply \"balance\" to check.",
                "⚠️ Sorry, wahala for our side make me lose where we reach for this chat, so we go start again. Anything wey you don confirm don happen: reply \"balance\" to check.",
            ],
        ),
        (
            StaleTap,
            [
                "That button is on an earlier message, so I did nothing with it. Please use the buttons on my last message, or reply \"menu\".",
                "That button na for old message, so I no do anything with am. Abeg use the buttons for my last message, or reply \"menu\".",
            ],
        ),
        (
            StaleForm,
            [
                "That form is no longer open, so I did nothing with it. Nothing was sent. Please use the form on my last message, or reply \"menu\".",
                "That form don close, so I no do anything with am. We no send anything. Abeg use the form for my last message, or reply \"menu\".",
            ],
        ),
        (
            LinkPhoneNumber,
            [
                "To send or borrow money, your account must be linked to your WhatsApp phone number, and WhatsApp has not shared it with us yet. Share your phone number with us in this chat, then write again: I will link it. No money was sent.",
                "To send or borrow money, your account must connect to your WhatsApp phone number, but WhatsApp never share am with us. Share your phone number with us for this chat, then write again: I go connect am. We no send any money.",
            ],
        ),
        (PinFormButton, ["Enter PIN", "Put PIN"]),
        (SignupFormButton, ["Open account", "Open account"]),
        (CodeFormButton, ["Enter code", "Put code"]),
        (
            PinReminder,
            [
                "🔒 A reminder: never send your PIN in this chat unless I ask for it, and I only ask right before money moves. If you just sent it, we have not kept it.",
                "🔒 Make I remind you: no ever send your PIN for this chat unless I ask for am, and I dey ask only when money wan move. If na your PIN you just send, we no keep am.",
            ],
        ),
        (
            VoiceForSecret,
            [
                "For your safety, please type it. Never say your PIN or a code out loud.",
                "For your safety, abeg type am. No ever talk your PIN or code for voice.",
            ],
        ),
        (LanguageSet, ["Okay ✅ English from now on.", "Oya ✅ Na Pidgin we go dey yarn from now."]),
        (
            WithCareTeam,
            [
                "✅ Your message is with our customer care team. An agent will answer in this chat; you can keep writing here. Reply \"menu\" to go back to the bot.",
                "✅ Your message don reach our customer care team. One agent go answer you for this chat; you fit dey write here. Reply \"menu\" to go back to the bot.",
            ],
        ),
        (
            ThanksForRating,
            [
                "Thank you for your rating 🙏 It helps us do better. Reply \"menu\" whenever you need me.",
                "Thank you for your rating 🙏 E go help us do better. Reply \"menu\" anytime wey you need me.",
            ],
        ),
        (
            YouAreWelcome,
            [
                "You're welcome 😊 Reply \"menu\" whenever you need me.",
                "No wahala 😊 Reply \"menu\" anytime wey you need me.",
            ],
        ),
        (GreetingBack, ["Hello 👋 Good to see you.", "How far 👋 Good to see you."]),
        (
            MissedFewTimes,
            [
                "Sorry, I did not get that a few times. Here is what I can do: reply with a number, or \"agent\" to talk to a person.",
                "Sorry, I no understand am after some tries. See wetin I fit do: reply with number, or \"agent\" to talk to person.",
            ],
        ),
    ]
};

/// Why an answer was refused, in `language`; bounds of amount questions are shown as money.
pub fn refused(language: &str, rejection: &Rejection, amount: bool, currency: &str) -> String {
    refused_with(language, rejection, amount, currency, |_| None)
}

/// The placeholders the words of phrase `name` (of `section`, `phrases` or `refusals`) may use.
pub fn placeholders(section: &str, name: &str) -> &'static [&'static str] {
    match (section, name) {
        ("refusals", "too_long") => &["n"],
        ("refusals", "below_min" | "above_max") => &["bound"],
        ("refusals", "other_currency") => &["currency", "symbol"],
        _ => &[],
    }
}

/// The built-in words of refusal `key` in `language` (with `{field}` placeholders).
pub fn refusal_text(key: &str, language: &str) -> &'static str {
    REFUSALS.iter().find(|(k, _)| *k == key).map_or("", |(_, texts)| locale::pick(texts, language))
}

/// The names of the refusals, as `phrases.yaml` writes them.
pub const REFUSAL_KEYS: [&str; 21] = [
    "empty",
    "too_long",
    "not_name",
    "title",
    "not_number",
    "below_min",
    "above_max",
    "grouping",
    "too_precise",
    "not_positive",
    "too_large",
    "other_currency",
    "not_a_number",
    "not_phone",
    "not_pin",
    "not_otp",
    "not_date",
    "no_such_date",
    "not_yes_no",
    "no_match",
    "not_an_option",
];

/// [`refused`], with the words for a refusal's key taken from `words` when it has them.
pub fn refused_with<'w>(
    language: &str,
    rejection: &Rejection,
    amount: bool,
    currency: &str,
    words: impl Fn(&str) -> Option<&'w str>,
) -> String {
    use Rejection::*;
    let bound = |n: &i64| {
        if amount {
            money::format_money(n.saturating_mul(money::MINOR_PER_MAJOR), currency)
        } else {
            n.to_string()
        }
    };
    let (key, fields) = match rejection {
        Empty => ("empty", vec![]),
        TooLong(n) => ("too_long", vec![("n", n.to_string())]),
        NotName => ("not_name", vec![]),
        Title => ("title", vec![]),
        NotNumber => ("not_number", vec![]),
        BelowMin(n) => ("below_min", vec![("bound", bound(n))]),
        AboveMax(n) => ("above_max", vec![("bound", bound(n))]),
        Amount(AmountError::Grouping) => ("grouping", vec![]),
        Amount(AmountError::TooPrecise) => ("too_precise", vec![]),
        Amount(AmountError::NotPositive) => ("not_positive", vec![]),
        Amount(AmountError::TooLarge) => ("too_large", vec![]),
        Amount(AmountError::OtherCurrency) => {
            let symbol = money::currency_symbol(currency).trim().to_owned();
            ("other_currency", vec![("currency", currency.to_owned()), ("symbol", symbol)])
        }
        Amount(AmountError::NotANumber) => ("not_a_number", vec![]),
        NotPhone => ("not_phone", vec![]),
        NotPin => ("not_pin", vec![]),
        NotOtp => ("not_otp", vec![]),
        NotDate => ("not_date", vec![]),
        NoSuchDate => ("no_such_date", vec![]),
        NotYesNo => ("not_yes_no", vec![]),
        NoMatch => ("no_match", vec![]),
        NotAnOption => ("not_an_option", vec![]),
    };
    let texts = REFUSALS.iter().find(|(k, _)| *k == key).map_or(&[""; locale::LANGUAGES.len()], |(_, t)| t);
    locale::fill(words(key).unwrap_or_else(|| locale::pick(texts, language)), &fields)
}

/// Why an answer was refused, by key, in every language.
const REFUSALS: &[(&str, Texts)] = &[
    ("empty", ["Please type your answer.", "Abeg type your answer."]),
    (
        "too_long",
        [
            "That is too long. Please keep it under {n} characters.",
            "E too long. Abeg make am less than {n} letters.",
        ],
    ),
    (
        "not_name",
        ["Please type a name using letters, e.g. Ada Obi.", "Abeg type name with letters, like Ada Obi."],
    ),
    (
        "title",
        [
            "Please type just your name, without a title like Mrs. or Dr.",
            "Abeg type only your name, no add title like Mrs. or Dr.",
        ],
    ),
    ("not_number", ["Please reply with a whole number, e.g. 3.", "Abeg reply with number, like 3."]),
    ("below_min", ["That is too small. The smallest is {bound}.", "E too small. The smallest na {bound}."]),
    ("above_max", ["That is too large. The most is {bound}.", "E too big. The biggest na {bound}."]),
    (
        "grouping",
        [
            "The commas look wrong. Reply with the amount like 5,000 or 5000.",
            "The comma no correct. Reply with the amount like 5,000 or 5000.",
        ],
    ),
    (
        "too_precise",
        [
            "An amount has at most two decimals, e.g. 5000.50.",
            "Amount no fit pass two decimal, like 5000.50.",
        ],
    ),
    ("not_positive", ["The amount must be more than zero.", "The amount must pass zero."]),
    ("too_large", ["That amount is too large.", "That amount too big."]),
    (
        "other_currency",
        [
            "I can only send {currency} ({symbol}). Reply with the amount in {symbol}, e.g. 5000.",
            "Na only {currency} ({symbol}) I fit send. Reply with the amount for {symbol}, like 5000.",
        ],
    ),
    (
        "not_a_number",
        [
            "I could not read that amount. Reply with figures, e.g. 5000.",
            "I no fit read that amount. Reply with figures, like 5000.",
        ],
    ),
    (
        "not_phone",
        [
            "Please reply with a phone number, e.g. 08031234567.",
            "Abeg reply with phone number, like 08031234567.",
        ],
    ),
    ("not_pin", ["A PIN is 4 to 6 digits. Please try again.", "PIN na 4 to 6 numbers. Abeg try again."]),
    (
        "not_otp",
        [
            "The code is 6 digits. Please check it and try again.",
            "The code na 6 numbers. Abeg check am and try again.",
        ],
    ),
    ("not_date", ["Please reply with a date like 25/12/1990.", "Abeg reply with date like 25/12/1990."]),
    (
        "no_such_date",
        [
            "That date does not exist. Please check the day and month, e.g. 25/12/1990.",
            "That date no dey for calendar. Abeg check the day and month, like 25/12/1990.",
        ],
    ),
    ("not_yes_no", ["Please reply yes or no.", "Abeg reply yes or no."]),
    (
        "no_match",
        [
            "That number does not look right. Please check it and try again.",
            "That number no look correct. Abeg check am and try again.",
        ],
    ),
    (
        "not_an_option",
        [
            "Please tap one of the options, or reply with its number.",
            "Abeg tap one of the options, or reply with the number.",
        ],
    ),
];

/// The global words, in every shipped language, and what they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    /// Back to the main menu.
    Menu,
    /// Stop what is going on.
    Cancel,
    /// The help flow.
    Help,
    /// Speak this language from now on ("pidgin", "talk pidgin", "english"), wherever the
    /// customer is.
    Language(&'static str),
}

/// Whether `text` is written in Pidgin: a word English does not use ("abeg", "wetin", "dey").
/// A stranger's first message in Pidgin is answered in Pidgin.
pub fn sounds_pidgin(text: &str) -> bool {
    // Words only Pidgin uses: one is enough.
    const SURE: [&str; 7] = ["abeg", "wetin", "wey", "una", "sabi", "wan", "dey"];
    // Pidgin words English shares or borrows: one in a short message, two in a longer one.
    const LIKELY: [&str; 7] = ["oya", "comot", "wahala", "abi", "sha", "na", "don"];
    let normal = normalise(text);
    let words: Vec<&str> = normal.split(|c: char| !c.is_alphanumeric()).collect();
    let likely = words.iter().filter(|w| LIKELY.contains(w)).count();
    normal.contains("how far")
        || normal.contains("no vex")
        || words.iter().any(|w| SURE.contains(w))
        || likely >= if words.len() <= 3 { 1 } else { 2 }
}

/// Whether `text` thanks the bot ("thank you", "thanks o", "tnx", "nagode", "daalu", "ese").
pub fn thanks(text: &str) -> bool {
    const THANKS: [&str; 22] = [
        "thank you",
        "thanks",
        "thank u",
        "thanks a lot",
        "thank you so much",
        "thank you very much",
        "thx",
        "tnx",
        "tanx",
        "tanks",
        "tank you",
        "thanks o",
        "thank you o",
        "ok thanks",
        "okay thanks",
        "ok thank you",
        "i thank you",
        "god bless",
        "nagode",
        "daalu",
        "ese",
        "e se",
    ];
    THANKS.contains(&normalise(text).trim_end_matches(['.', '!', '😊', '🙏', ' ']))
}

/// The global word `text` is, if it is one (already normalised).
pub fn global(text: &str) -> Option<Global> {
    match text {
        "menu" | "main menu" | "menu o" | "back" | "go back" | "back to menu" => Some(Global::Menu),
        "cancel" | "stop" | "exit" | "quit" | "comot" | "make we stop" | "abeg stop" | "abeg cancel"
        | "stop it" | "cancel it" | "cancel am" | "stop am" => Some(Global::Cancel),
        "help" | "abeg help" | "help me" => Some(Global::Help),
        "pidgin" | "talk pidgin" | "speak pidgin" | "pidgin abeg" | "abeg talk pidgin" | "in pidgin" => {
            Some(Global::Language("pcm"))
        }
        "english" | "talk english" | "speak english" | "in english" | "english please" => {
            Some(Global::Language("en"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_exists_in_every_language() {
        use Phrase::*;
        for language in crate::locale::LANGUAGES {
            for phrase in Phrase::ALL {
                let text = say(language, phrase);
                assert!(!text.is_empty());
                let max = match phrase {
                    Resume | Restart | ListButton | Yes | No => crate::whatsapp::outbound::BUTTON_TITLE_MAX,
                    MoreOptions | FirstOptions => crate::whatsapp::outbound::ROW_TITLE_MAX,
                    _ => crate::whatsapp::outbound::INTERACTIVE_BODY_MAX,
                };
                assert!(crate::whatsapp::outbound::utf16_len(text) <= max, "{phrase:?} in {language}");
            }
        }
    }

    #[test]
    fn the_refusal_names_are_the_refusals() {
        let keys: Vec<&str> = REFUSALS.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, REFUSAL_KEYS);
    }

    #[test]
    fn a_pidgin_opener_is_told_from_english() {
        for pidgin in ["How far, abeg I wan open account", "abeg", "wetin una dey do", "I wan send money"] {
            assert!(sounds_pidgin(pidgin), "{pidgin}");
        }
        for english in ["Hello, who is this please?", "hi", "I want to open an account", "send money"] {
            assert!(!sounds_pidgin(english), "{english}");
        }
    }

    #[test]
    fn language_words_switch_the_language() {
        assert_eq!(global("talk pidgin"), Some(Global::Language("pcm")));
        assert_eq!(global("english"), Some(Global::Language("en")));
    }

    #[test]
    fn global_words_cover_the_design() {
        for word in ["menu", "cancel", "stop", "exit", "quit", "help"] {
            assert!(global(word).is_some(), "{word}");
        }
        assert_eq!(global("comot"), Some(Global::Cancel));
        assert_eq!(global("hello"), None);
    }
}
