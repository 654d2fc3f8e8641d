//! A session that expired while the customer was away: money flows end with a note; others offer,
//! for a while, to go back to the question left or to start again, unless the message asks for
//! something else, which is then done.

use crate::flows::graph::{Kind, MAIN_MENU, Target, normalise};
use crate::flows::phrases::Phrase;
use crate::whatsapp::outbound::{Button, Buttons};

use super::{Event, RESTART_ID, RESUME_ID, Run, Status, resume_window_secs};

impl Run<'_> {
    pub(super) fn expired(&mut self, event: Event) {
        let since = self.cx.now.timestamp() - self.session.expires_at;
        let flow = self.bundle.flows.get(&self.session.flow);
        let money = flow.is_some_and(|f| f.moves_money);
        let window = resume_window_secs(flow.map_or(0, |f| f.session_minutes));
        if money {
            self.end();
            self.phrase(Phrase::MoneyTimedOut);
        } else if since <= window && !self.asks_for_another_flow(&event) {
            self.session.status = Status::ResumeOffered;
            let private = match self.bundle.step(&self.session.flow, &self.session.step).map(|s| &s.kind) {
                Some(Kind::Ask(q)) => q.kind.is_private(),
                _ => true,
            };
            self.session.held = match &event {
                Event::Text(text) if !private => Some(text.clone()),
                _ => None,
            };
            let language = self.language();
            let buttons = vec![
                Button::new(RESUME_ID, self.bundle.phrases.say(&language, Phrase::Resume)),
                Button::new(RESTART_ID, self.bundle.phrases.say(&language, Phrase::Restart)),
            ];
            match Buttons::new(self.bundle.phrases.say(&language, Phrase::ResumeOffer), buttons) {
                Ok(b) => self.messages.push(b.into()),
                Err(_) => self.phrase(Phrase::ResumeOffer),
            }
        } else {
            self.end();
            self.phrase(Phrase::TimedOut);
            self.fresh(event);
        }
    }

    /// `event` asks for another flow than the one left unfinished ("send 2k to Tunde" back
    /// after a PIN reset was left), rather than answering its question or saying hello: it is
    /// done, not held behind an offer to go back.
    fn asks_for_another_flow(&self, event: &Event) -> bool {
        let Event::Text(text) = event else { return false };
        let flow = self.current.trigger(&self.session.language, text).or_else(|| self.requested_flow());
        flow.is_some_and(|f| f != self.session.flow && f != MAIN_MENU) && !self.accepts(text)
    }

    pub(super) fn resume_answer(&mut self, event: Event) {
        let language = self.language();
        let said = match &event {
            Event::Choice { id, .. } => id.clone(),
            Event::Text(t) => {
                let t = normalise(t);
                if t == "1"
                    || t == normalise(self.bundle.phrases.say(&language, Phrase::Resume))
                    || t == "continue"
                {
                    RESUME_ID.to_owned()
                } else if t == "2"
                    || t == normalise(self.bundle.phrases.say(&language, Phrase::Restart))
                    || t == "start again"
                {
                    RESTART_ID.to_owned()
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        };
        match said.as_str() {
            RESUME_ID => {
                self.session.status = Status::Asking;
                self.session.attempts = 0;
                // The answer typed when the offer was made answers the question now.
                match self.session.held.take() {
                    Some(typed) if self.accepts(&typed) => self.answer(Event::Text(typed)),
                    _ => self.enter(Target::Step(self.session.step.clone())),
                }
            }
            RESTART_ID => {
                self.session.held = None;
                self.end();
                self.start(MAIN_MENU);
            }
            _ => {
                self.end();
                self.fresh(event);
            }
        }
    }
}
