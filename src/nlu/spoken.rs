//! The phrases the rules look for in Yoruba, Hausa and Igbo, over the same normalised text as
//! [`super::patterns`]: lowercase, no punctuation or apostrophes, numbers as `#`, and accents,
//! underdots and Hausa's hooked letters folded ("ẹ̀dùn" reads "edun", "ƙorafi" "korafi",
//! "n'akaụntụ" "nakauntu"). English words inside these sentences are read by the English
//! patterns, so "mo fẹ́ bá customer care sọ̀rọ̀" needs nothing here.
//!
//! Weights as in [`super::patterns`]. Add a phrase when `teller nlu eval --set nlu/eval_yo.yaml`
//! (or `_ha`, `_ig`) shows a sentence misread, never for one of the held-out sets.

use super::Intent;

/// (intent, weight, pattern over the normalised text).
pub const PATTERNS: &[(Intent, u8, &str)] = &[
    // Greetings: a message that opens with one.
    (
        Intent::Greeting,
        2,
        r"^(bawo( ni)?|e ?n ?le|enle|e kaaro|ekaaro|e kaasan|ekaasan|e kaale|ekaale|pele|e ku \w+|e kuule)\b",
    ),
    (
        Intent::Greeting,
        2,
        r"^(sannu|assalamu alaikum|salamu alaikum|ina (kwana|wuni|ini)|barka da \w+|yaya dai|yaya)\b",
    ),
    (Intent::Greeting, 2, r"^(kedu|ndewo|ndeewo|nnoo|ututu oma|ehihie oma|mgbede oma)\b"),
    // Balance
    (Intent::Balance, 3, r"\b(owo|iye owo)\b.{0,24}\b(melo|elo|ku|wa)\b"),
    (Intent::Balance, 3, r"\b(melo|elo)\b.{0,24}\b(owo|account|akanti)\b"),
    (Intent::Balance, 3, r"\b(iye owo|ye owo mi wo|mo iye)\b"),
    (Intent::Balance, 3, r"\b(nawa ne a|nawa ne ke|kudi nawa|duba kudi\w*|ragowar kudi\w*|kudin da ke)\b"),
    (Intent::Balance, 3, r"\bkudi\w*\b.{0,20}\bnawa\b"),
    (Intent::Balance, 3, r"\bego (m )?(ole|foduru)\b"),
    (Intent::Balance, 3, r"\b(lelee|lee) ego\b"),
    (Intent::Balance, 3, r"\bego (ole )?di n(akauntu|account|acct)\b"),
    // Money in
    (Intent::Fund, 5, r"\bfi owo si (akanti|account)\b"),
    (Intent::Fund, 5, r"\b(saka|zuba) kudi\b"),
    (Intent::Fund, 5, r"\bi?tinye ego\b"),
    // Airtime
    (Intent::Airtime, 6, r"\b(kaadi ipe|katin waya|kaadi oku)\b"),
    // A forgotten PIN: "mo gbàgbé PIN mi", "na manta PIN", "echefuru m PIN m"
    (Intent::ForgotPin, 5, r"\b(gbagbe|manta|e?chefuru)\b.{0,20}\bpin\b"),
    // ... or not remembered: "mi ò rántí PIN mi", "ban tuna PIN ba", "enweghị m ike icheta PIN"
    (Intent::ForgotPin, 5, r"\b(o|ko) ranti\b.{0,20}\bpin\b|\b(ban|ba na|kasa) tuna\b.{0,20}\bpin\b"),
    (Intent::ForgotPin, 5, r"\b(icheta|echeta|echeghi)\b.{0,20}\bpin\b"),
    // Their own BVN or NIN forgotten or not known: "mo gbàgbé BVN mi", "mi ò mọ NIN mi", "na
    // manta BVN ɗina", "ban san BVN ɗina ba", "echefuru m BVN m", "amaghị m NIN m"
    (Intent::IdNumber, 6, r"\b(gbagbe|manta|e?chefuru)( m| mi)? (bvn|nin)\b"),
    (
        Intent::IdNumber,
        6,
        r"\b(mi o mo|mi ko mo|n ko mo|o ranti|ko ranti|ban san|ban sani|ban tuna|amaghi m|echeghi m)( m| mi)? (bvn|nin)\b",
    ),
    // Fees and limits
    (Intent::Fees, 4, r"\b(owo ise|caji\w*|ugwo oru)\b"),
    // Opening an account
    // "ṣí" (open) and "sí" (to, into) fold alike: "ṣí àkáǹtì" counts after a verb that wants it
    // or first, never after money going into one ("fi owó sí àkáǹtì", "wọlé sí àkáǹtì").
    (Intent::OpenAccount, 5, r"(^|\b(fe|le|ba mi|lati|ki n|kin|e) )(si|sii) (akanti|account|acct)\b"),
    (Intent::OpenAccount, 5, r"\bforuko( mi)? sile\b"),
    (Intent::OpenAccount, 5, r"\bbude (min |mini |mani )?(asusu\w*|account)\b"),
    (Intent::OpenAccount, 5, r"\b(yi|yin) rajista\b"),
    (Intent::OpenAccount, 5, r"\b(mepee|imepe|mepe|meghee|imeghe)( m)? (akauntu|account|acct)\b"),
    (Intent::OpenAccount, 5, r"\bi?debanye aha\b"),
    // What opening one needs: a question ("kí ni mo nílò láti ṣí àkáǹtì", "me ake bukata don
    // buɗe asusu", "gịnị ka m chọrọ iji mepee akaụntụ"); "mo nílò láti ṣí àkáǹtì" asks for one
    (
        Intent::Requirements,
        6,
        r"\b(ki ni|kini|kin ni|ohun ti|nkan ti)\b.{0,20}\bnilo\b.{0,24}\b(si|sii) (akanti|account|acct)\b",
    ),
    (
        Intent::Requirements,
        6,
        r"\b(me|mene|menene|mine|minene|abin da|abubuwan da)\b.{0,20}\bbukat\w*\b.{0,24}\bbude\b",
    ),
    (
        Intent::Requirements,
        6,
        r"\bgini\b.{0,20}\b(choro|achoro|di mkpa)\b.{0,24}\b(mepee|imepe|mepe|meghee|imeghe)\b",
    ),
    // Transfer
    (Intent::Transfer, 2, r"\b(ranse|tura|aika|zipu|ziga|iziga|zigara)\b"),
    (Intent::Transfer, 3, r"\b(fi owo ranse|tura kudi|aika kudi|zipu ego|ziga ego|iziga ego)\b"),
    (Intent::Transfer, 4, r"\b(tura|aika|zigara|zipu)\b.{0,30}\b(kudi|ego)\b"),
    // Statement
    (Intent::Statement, 3, r"\b(itan isowo|akosile owo|isowo|ohun ti mo na|ki ni mo na)\b"),
    (Intent::Statement, 3, r"\b(ibo ni owo mi|owo osu mi)\b"),
    (Intent::Statement, 3, r"\b(bayanin asusu\w*|tarihin \w+|maamalo\w*|me na kashe)\b"),
    (Intent::Statement, 3, r"\b(albashi\w* ya shigo|ina kudi\w* ke (tafiya|zuwa)|kudaden da suka)\b"),
    (Intent::Statement, 3, r"\b(nkowa akauntu|azumahia|akuko ego|ebee ka ego m|gini ka m jiri ego)\b"),
    (Intent::Statement, 3, r"\bugwo onwa m\b"),
    (Intent::Statement, 4, r"\b(ta lo (fi|san)|wa ya turo|onye zitere m)\b"),
    // Loan
    (Intent::Loan, 4, r"\b(owo yiya|ya mi( ni)? owo|(mo fe|mo nilo|mo le|e) ya)\b"),
    (Intent::Loan, 4, r"\b(bashi\w*|rance\w*|ranta)\b"),
    (Intent::Loan, 4, r"\b(mbinye|gbazinye|igbazinye|ibinye|binye m|ibiri)\b"),
    // Repay: paying back outranks borrowing
    (Intent::Repay, 5, r"\bgbese\b"),
    (Intent::Repay, 5, r"\bsan\b.{0,30}\b(pada|owo yiya|loan)\b"),
    (Intent::Repay, 5, r"\b(mo je|nake bin)\b"),
    (Intent::Repay, 5, r"\bbiya\w*\b.{0,12}\b(bashi\w*|loan)\b"),
    (Intent::Repay, 5, r"\bbashi\w* nawa ya\b"),
    (Intent::Repay, 5, r"\b(kwughachi|ikwughachi|kwuo ugwo|akwu loan|ka m ji)\b"),
    (Intent::Repay, 5, r"\bugwo\b.{0,16}\b(foduru|mbinye)\b"),
    // Help
    (Intent::Help, 3, r"\b(iranlowo|ran mi lowo|ki ni e le se)\b"),
    (Intent::Help, 3, r"\b(taimako|taimaka min|taimake ni|me za ku iya)\b"),
    (Intent::Help, 3, r"\b(enyemaka|nyere m aka|gini ka i nwere ike)\b"),
    // A person
    (Intent::Person, 4, r"\b(ba eniyan|eniyan gidi|asoju|osise)\b"),
    (Intent::Person, 4, r"\b(mutum|wakili|maaikaci\w*)\b"),
    (Intent::Person, 4, r"\b(mmadu|onye oru)\b"),
    // Complaint
    (Intent::Complaint, 5, r"\b(edun|esun|yo owo mi)\b"),
    (Intent::Complaint, 5, r"\b(korafi\w*|koke|kai kara|an cire min kudi)\b"),
    (Intent::Complaint, 5, r"\b(mkpesa|wepuru ego m)\b"),
    // Block
    (Intent::Block, 6, r"\b(di|ti) (akanti|account|acct) mi\b"),
    (Intent::Block, 6, r"\b(da owo mi duro|jibiti|ji foonu)\b"),
    (Intent::Block, 6, r"\b(rufe|toshe|daskarar da|dakatar da) (asusu\w*|account\w*|kudi\w*)\b"),
    (Intent::Block, 6, r"\b(an sace waya\w*|zamba)\b"),
    (Intent::Block, 6, r"\b(mechie|kpochie|kwusi) (akauntu|account|acct|ego) m\b"),
    (Intent::Block, 6, r"\b(zuru ekwenti|aghughọ|aghugho)\b"),
    // Cancel
    (Intent::Cancel, 5, r"\b(fagile|da a duro)\b"),
    (Intent::Cancel, 5, r"\b(soke|fasa|tsaya)\b"),
    (Intent::Cancel, 5, r"^a bari\b"),
    (Intent::Cancel, 5, r"\b(kagbuo|hapu ya|achoghi m ozo)\b"),
    (Intent::Cancel, 5, r"^kwusi( biko)?$"),
];
