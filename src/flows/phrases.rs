//! What the engine itself says, in every shipped language: global words, timeouts, resume
//! offers and the default reasons an answer is refused. Flow files say everything else.

use super::graph::normalise;
use super::input::Rejection;
use crate::locale;
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
    /// The button that opens the identity check's form (date of birth and BVN or NIN).
    IdentityFormButton,
    /// What the registration form asks (its fields).
    SignupFormQuestion,
    /// What the identity check's form asks (its fields).
    IdentityFormQuestion,
    /// The button that opens the code form.
    CodeFormButton,
    /// The language was switched with a word ("pidgin", "english").
    LanguageSet,
    /// "Thank you": answered in kind.
    YouAreWelcome,
    /// "Bye": answered in kind.
    Goodbye,
    /// A request for something else left a flow that moves money before any moved.
    LeftNothingSent,
    /// A request naming two numbers: the first is taken, one at a time.
    OneAtATime,
    /// A greeting returned, before the menu.
    GreetingBack,
    /// A registered customer asked to open an account: the menu follows.
    AlreadyRegistered,
    /// A stranger opening an account asked for what only an account can do: the question on
    /// screen follows, and what they gave so far is kept.
    AfterRegistration,
    /// Asked for a BVN or NIN, the customer has none or does not know it: how to see each; the
    /// question follows.
    FindIdNumber,
    /// Misunderstood a few times: the numbered menu follows.
    MissedFewTimes,
    /// The first message that goes to customer care rather than the bot.
    WithCareTeam,
    /// A rating of the care the customer got, received.
    ThanksForRating,
}

impl Phrase {
    /// Every phrase.
    pub const ALL: [Phrase; 45] = {
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
            IdentityFormButton,
            SignupFormQuestion,
            IdentityFormQuestion,
            CodeFormButton,
            LanguageSet,
            YouAreWelcome,
            Goodbye,
            LeftNothingSent,
            OneAtATime,
            GreetingBack,
            AlreadyRegistered,
            AfterRegistration,
            FindIdNumber,
            MissedFewTimes,
            WithCareTeam,
            ThanksForRating,
        ]
    };
}

/// The placeholders the words of phrase `name` (of `section`, `phrases` or `refusals`) may use.
pub fn placeholders(section: &str, name: &str) -> &'static [&'static str] {
    match (section, name) {
        ("refusals", "too_long") => &["n"],
        ("refusals", "below_min" | "above_max") => &["bound"],
        ("refusals", "other_currency") => &["currency", "symbol"],
        ("refusals", "short_year") => &["date"],
        _ => &[],
    }
}

/// The names of the refusals, as `phrases.yaml` writes them.
pub const REFUSAL_KEYS: [&str; 22] = [
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
    "short_year",
    "not_yes_no",
    "no_match",
    "not_an_option",
];

/// [`refused`], with the words for a refusal's key taken from `words` when it has them.
pub fn refused_with<'w>(
    rejection: &Rejection,
    amount: bool,
    currency: &str,
    words: impl Fn(&str) -> &'w str,
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
        ShortYear(date) => ("short_year", vec![("date", date.clone())]),
        NotYesNo => ("not_yes_no", vec![]),
        NoMatch => ("no_match", vec![]),
        NotAnOption => ("not_an_option", vec![]),
    };
    locale::fill(words(key), &fields)
}

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

/// The language a stranger's first message is written in, when a word of it says so: Pidgin
/// ("abeg", "wetin"), Yoruba ("ẹ káàárọ̀", "owó"), Hausa ("sannu", "kuɗi") or Igbo ("kedu",
/// "ego"). The language with the most such words wins; `None` reads as English.
pub fn language_of(text: &str) -> Option<&'static str> {
    // Words only that language uses (folded: no accents): one is enough. Phrases of two words
    // count as one.
    const MARKS: [(&str, &[&str]); 4] = [
        (
            "pcm",
            &[
                "abeg", "wetin", "wey", "una", "sabi", "wan", "dey", "how far", "no vex", "oya", "comot",
                "wahala",
            ],
        ),
        (
            "yo",
            &[
                "bawo", "e kaaro", "ekaaro", "e kaasan", "ekaasan", "e kaale", "ekaale", "e nle", "enle",
                "e n le", "pele", "owo", "mo fe", "jowo", "e jowo", "elo", "melo", "oruko", "ranse",
                "kilode", "nibo", "akanti", "se", "ki lo", "e se", "e kuule", "e ku ile", "mi", "yoruba",
                "gbese", "egbe", "egberun",
            ],
        ),
        (
            "ha",
            &[
                "sannu",
                "ina kwana",
                "ina wuni",
                "barka",
                "yaya dai",
                "don allah",
                "nawa",
                "kudi",
                "kudina",
                "ina son",
                "ina so",
                "tura",
                "bashi",
                "asusu",
                "taimako",
                "nagode",
                "na gode",
                "hausa",
                "dubu",
                "yaya",
                "akwai",
                "kuma",
                "zan",
                "nake",
                "ne",
                "ce",
                "lafiya",
                "assalamu alaikum",
                "salamu alaikum",
            ],
        ),
        (
            "ig",
            &[
                "kedu",
                "ndewo",
                "nnoo",
                "biko",
                "ego",
                "achoro",
                "choro",
                "zipu",
                "ole",
                "daalu",
                "igbo",
                "nna",
                "nne",
                "ebee",
                "gini",
                "enyemaka",
                "akauntu",
                "puku",
                "ka m",
                "m ga",
                "ugbu a",
                "ututu oma",
            ],
        ),
    ];
    let normal = normalise(text);
    let words: Vec<&str> =
        normal.split(|c: char| !c.is_alphanumeric() && c != '\'').filter(|w| !w.is_empty()).collect();
    // A mark of two words counts where the two stand side by side.
    let said =
        |mark: &str| words.windows(mark.split(' ').count()).any(|w| w.iter().copied().eq(mark.split(' ')));
    let count = |marks: &[&str]| marks.iter().filter(|m| said(m)).count();
    let (language, best) = MARKS.iter().map(|(l, marks)| (*l, count(marks))).max_by_key(|(_, n)| *n)?;
    let tied = MARKS.iter().filter(|(_, marks)| count(marks) == best).count() > 1;
    (best > 0 && !tied).then_some(language)
}

/// Whether `text` thanks the bot ("thank you", "thanks o", "tnx", "nagode", "daalu", "ese").
pub fn thanks(text: &str) -> bool {
    const THANKS: [&str; 29] = [
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
        "na gode",
        "nagode sosai",
        "na gode sosai",
        "daalu",
        "daalu nke ukwuu",
        "ese",
        "e se",
        "e se gan",
        "o se",
        "e se o",
    ];
    THANKS.contains(&normalise(text).trim_end_matches(['.', '!', '😊', '🙏', ' ']))
}

/// `text` takes leave ("bye", "ó dàbọ̀", "sai anjima", "ka ọ dị").
pub fn farewell(text: &str) -> bool {
    const BYE: [&str; 20] = [
        "bye",
        "bye bye",
        "byebye",
        "goodbye",
        "good bye",
        "ok bye",
        "okay bye",
        "bye for now",
        "see you",
        "see you later",
        "later",
        "take care",
        "good night",
        "o dabo",
        "odabo",
        "o daaro",
        "sai anjima",
        "sai an jima",
        "ka o di",
        "ka emesia",
    ];
    BYE.contains(&normalise(text).trim_end_matches(['.', '!', '👋', '🙏', ' ']))
}

/// The global word `text` is, if it is one (already normalised).
pub fn global(text: &str) -> Option<Global> {
    match text {
        "menu" | "main menu" | "menu o" | "back" | "go back" | "back to menu" => Some(Global::Menu),
        "cancel" | "stop" | "exit" | "quit" | "comot" | "make we stop" | "abeg stop" | "abeg cancel"
        | "stop it" | "cancel it" | "cancel am" | "stop am" => Some(Global::Cancel),
        // Yoruba, Hausa and Igbo (folded: "fagilé" is "fagile").
        "fagile" | "fagile e" | "e fagile" | "da a duro" | "soke" | "a soke" | "soke shi" | "fasa"
        | "kagbuo" | "kagbuo ya" => Some(Global::Cancel),
        "help" | "abeg help" | "help me" => Some(Global::Help),
        "iranlowo" | "taimako" | "enyemaka" => Some(Global::Help),
        _ => locale::named(text).map(Global::Language),
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
                let text = crate::flows::phrasebook::shipped().say(language, phrase);
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
    fn a_first_message_says_its_language() {
        for (said, language) in [
            ("How far, abeg I wan open account", Some("pcm")),
            ("abeg", Some("pcm")),
            ("wetin una dey do", Some("pcm")),
            ("I wan send money", Some("pcm")),
            ("Ẹ káàárọ̀, mo fẹ́ ṣí akanti", Some("yo")),
            ("bawo ni", Some("yo")),
            ("E jowo, elo lo wa ninu akanti mi", Some("yo")),
            ("Sannu", Some("ha")),
            ("Ina kwana, ina son bude asusu", Some("ha")),
            ("kuɗi nawa ne a asusuna", Some("ha")),
            ("Kedu", Some("ig")),
            ("Ndewo, biko achoro m imeghe akauntu", Some("ig")),
            ("ego ole di na akauntu m", Some("ig")),
            ("Hello, who is this please?", None),
            ("hi", None),
            ("I want to open an account", None),
            ("send money", None),
            ("good morning", None),
        ] {
            assert_eq!(language_of(said), language, "{said}");
        }
    }

    #[test]
    fn language_words_switch_the_language() {
        assert_eq!(global("talk pidgin"), Some(Global::Language("pcm")));
        assert_eq!(global("english"), Some(Global::Language("en")));
        assert_eq!(global(&normalise("Èdè Yorùbá")), Some(Global::Language("yo")));
        assert_eq!(global(&normalise("Harshen Hausa")), Some(Global::Language("ha")));
        assert_eq!(global(&normalise("Asụsụ Igbo")), Some(Global::Language("ig")));
        assert_eq!(global("igbo"), Some(Global::Language("ig")));
    }

    #[test]
    fn global_words_cover_the_design() {
        for word in ["menu", "cancel", "stop", "exit", "quit", "help"] {
            assert!(global(word).is_some(), "{word}");
        }
        assert_eq!(global("comot"), Some(Global::Cancel));
        for (said, word) in [("Fagilé", Global::Cancel), ("soke", Global::Cancel), ("Kagbuo", Global::Cancel)]
        {
            assert_eq!(global(&normalise(said)), Some(word), "{said}");
        }
        assert_eq!(global(&normalise("Ìrànlọ́wọ́")), Some(Global::Help));
        assert_eq!(global("hello"), None);
    }
}
