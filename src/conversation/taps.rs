//! Taps on old buttons. A button or list row a customer taps names the message it was on
//! (`context.id`, Meta's id of one of teller's replies), and each reply remembers the question
//! the session was asking when it was queued. A tap counts only on the question asked now: a
//! tap on an earlier one ("Confirm" on a cancelled transfer, while another waits for its
//! confirmation) is refused with a clear line and changes nothing. A tap on a notice's button
//! (a template that asked nothing) is taken as it is; a tap on a message teller does not know
//! (purged, or never its own) is refused like a stale one.

use crate::flows::engine::{Session, Status};

/// What the question `session` asks is called: its run, flow and step (and whether it is the
/// offer to resume), so a question asked again in the same run keeps its name and any other
/// question has another. `None` when it asks nothing.
pub(super) fn question_of(session: &Session) -> Option<String> {
    let status = match session.status {
        Status::Asking => "ask",
        Status::ResumeOffered => "resume",
        Status::Acting | Status::Ended => return None,
    };
    Some(format!("{}:{}:{}:{status}", session.run, session.flow, session.step))
}

/// Whether a tap on a message that asked `asked` (as the store knows it) may answer `current`.
pub(super) fn answers(asked: Option<Option<String>>, current: Option<&str>) -> bool {
    match asked {
        // A notice's button: nothing was asked, so nothing else can be answered by mistake.
        Some(None) => true,
        Some(Some(asked)) => current == Some(asked.as_str()),
        // Not a reply teller knows.
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(run: &str, step: &str, status: Status) -> Session {
        let mut session = Session::new("en", chrono::Utc::now());
        session.run = run.into();
        session.flow = "send_to_customer".into();
        session.step = step.into();
        session.status = status;
        session
    }

    #[test]
    fn only_the_question_asked_now_may_be_answered_by_a_tap() {
        let bola = question_of(&session("run-bola", "confirm", Status::Asking));
        let chi = question_of(&session("run-chi", "confirm", Status::Asking));
        assert_ne!(bola, chi, "the same step of another run is another question");
        assert!(answers(Some(chi.clone()), chi.as_deref()));
        assert!(!answers(Some(bola), chi.as_deref()), "Confirm on the cancelled transfer");
        assert!(answers(Some(None), chi.as_deref()), "a notice's button");
        assert!(!answers(None, chi.as_deref()), "a message teller does not know");
        let ended = question_of(&session("run-chi", "receipt", Status::Ended));
        assert_eq!(ended, None);
        assert!(!answers(Some(chi), ended.as_deref()), "nothing is asked any more");
    }
}
