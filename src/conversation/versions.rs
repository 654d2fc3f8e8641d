//! Flow versions: loading the flows (a draft for a publisher when `flows/` changed), serving
//! the newest release as it is published, and the older versions sessions began on, compiled
//! once and kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use chrono::Utc;

use crate::flows::actions::Catalogue;

use crate::flows::graph::Bundle;
use crate::flows::{self, Report};
use crate::kv::Kv;

use crate::releases::{self, LifecycleError, Releases};
use crate::store::SqlStore;

use super::{Conversations, DEFAULT_FLOWS_DIR, PINNED_CACHE, Settings};

/// The flows in `dir` would not compile.
#[derive(Debug, thiserror::Error)]
#[error("the flows in {dir} have errors:\n{}", lines(.report))]
pub struct FlowsError {
    dir: PathBuf,
    report: Report,
}

fn lines(report: &Report) -> String {
    report.diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

impl Conversations {
    /// Settles the flows in `dir` (the built-in baseline when `dir` is the default and missing)
    /// against the releases in the SQL store, and makes the newest release current.
    ///
    /// On first start `dir` becomes release 1, and must compile. Later, a change in `dir`
    /// becomes a draft (see [`crate::releases`]) and the newest release keeps serving.
    pub async fn load(
        dir: &Path,
        catalogue: Catalogue,
        kv: Arc<dyn Kv>,
        store: Arc<dyn SqlStore>,
        settings: Settings,
    ) -> anyhow::Result<Conversations> {
        let files = if !dir.exists() && dir == Path::new(DEFAULT_FLOWS_DIR) {
            tracing::info!("no flows/ here: the baseline flows built into teller are the files");
            flows::baseline()
        } else {
            flows::read_dir(dir).with_context(|| format!("cannot read the flows in {}", dir.display()))?
        };
        let files = releases::from_paths(&files);
        let lifecycle = Releases::new(store.as_ref(), &catalogue);
        let head = match lifecycle.sync_baseline(&files, Utc::now()).await {
            Ok(head) => head,
            Err(LifecycleError::DoesNotCompile(report)) => {
                return Err(FlowsError { dir: dir.to_owned(), report }.into());
            }
            Err(other) => return Err(anyhow::Error::new(other).context("cannot settle the flow releases")),
        };
        let (report, bundle) = lifecycle.compile(&head.files);
        let bundle = match bundle {
            Some(bundle) => bundle,
            None => {
                // The newest release needs an action this binary no longer has. Serving nothing
                // is worse than serving the files this binary came with, loudly.
                tracing::error!(
                    release = head.release.number,
                    errors = %lines(&report),
                    "the newest flow release does not compile with this version of teller: serving the flows in {} until a fixed draft is published",
                    dir.display()
                );
                let (report, bundle) = lifecycle.compile(&files);
                let Some(bundle) = bundle else {
                    return Err(FlowsError { dir: dir.to_owned(), report }.into());
                };
                store.save_flow_version(&bundle.version, &releases::to_json(&files)?, Utc::now()).await?;
                bundle
            }
        };
        for warning in &report.diagnostics {
            tracing::warn!(%warning, "flow warning");
        }
        tracing::info!(release = head.release.number, version = %bundle.version, flows = bundle.flows.len(), "flows loaded");
        Ok(Conversations::new(bundle, catalogue, kv, store, settings))
    }

    /// The catalogue flows are compiled against.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Makes `bundle` the one new sessions start on; sessions under way keep their own.
    pub fn set_current(&self, bundle: Arc<Bundle>) {
        match self.current.write() {
            Ok(mut current) => *current = bundle,
            Err(poisoned) => *poisoned.into_inner() = bundle,
        }
    }

    /// Serves each newly published release: polls the newest release every `every` until
    /// `stop`, and makes it current (so every instance serves a publication within `every` plus
    /// a compile).
    pub async fn follow_releases(
        self: Arc<Self>,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|stopping| *stopping) => return,
            }
            if let Err(err) = self.serve_newest().await {
                tracing::warn!(error = format!("{err:#}"), "cannot check for a newly published flow release");
            }
        }
    }

    /// Makes the newest release current if it is not; true when it changed.
    pub async fn serve_newest(&self) -> anyhow::Result<bool> {
        let Some((number, version)) = self.store.flow_head().await? else { return Ok(false) };
        if self.current().version == version {
            return Ok(false);
        }
        let Some(bundle) = self.pinned(&version).await? else {
            tracing::error!(
                release = number,
                "the newest flow release cannot be compiled here: still serving the previous one"
            );
            return Ok(false);
        };
        self.set_current(bundle);
        tracing::info!(release = number, %version, "serving a newly published flow release");
        Ok(true)
    }

    /// The engine's own `phrase` in `language`, in the words of the current flows
    /// (`phrases.yaml`), else the built-in ones.
    pub fn say(&self, language: &str, phrase: crate::flows::phrases::Phrase) -> String {
        self.current().phrases.say(language, phrase).to_owned()
    }

    /// The bundle new sessions start on.
    pub fn current(&self) -> Arc<Bundle> {
        self.current.read().map_or_else(|poisoned| poisoned.into_inner().clone(), |b| b.clone())
    }

    /// The bundle of `version`: the current one, a cached one, or one rebuilt from the sources
    /// the SQL store kept. `None` when it cannot be had (then the session starts over).
    pub(super) async fn pinned(&self, version: &str) -> anyhow::Result<Option<Arc<Bundle>>> {
        let current = self.current();
        if current.version == version {
            return Ok(Some(current));
        }
        if let Some(bundle) = self.pinned.lock().ok().and_then(|p| p.get(version).cloned()) {
            return Ok(Some(bundle));
        }
        let Some(sources) = self.store.flow_version(version).await? else { return Ok(None) };
        let files = releases::as_paths(&releases::from_json(&sources)?);
        // Compiled against today's catalogue: a version whose actions are gone cannot run.
        let Some(bundle) = flows::compile(&files, &self.catalogue).1 else {
            tracing::warn!(version, "a pinned flow version no longer compiles; its sessions start over");
            return Ok(None);
        };
        let bundle = Arc::new(Bundle { version: version.to_owned(), ..bundle });
        if let Ok(mut pinned) = self.pinned.lock() {
            if pinned.len() >= PINNED_CACHE {
                pinned.clear();
            }
            pinned.insert(version.to_owned(), bundle.clone());
        }
        Ok(Some(bundle))
    }
}
