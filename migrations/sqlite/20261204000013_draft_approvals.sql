-- Four eyes: a release that changes a flow that moves money (or makes one move money) is
-- published only after a second admin approved the draft, at the revision published.
-- Any edit raises the revision, so an approval never covers what was changed after it.
ALTER TABLE flow_drafts ADD COLUMN approved_by       TEXT   NULL;
ALTER TABLE flow_drafts ADD COLUMN approved_revision BIGINT NULL;
ALTER TABLE flow_drafts ADD COLUMN approved_at       TEXT NULL;
