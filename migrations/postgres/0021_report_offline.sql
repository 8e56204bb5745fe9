-- Issue 13: contacts answered with nobody waiting on the line (a voicemail, an offline chat
-- message, a callback) are counted apart from `answered`, out of the service level and the speed
-- of answer. The marks go, so every account's cells are counted again from the log with it.
ALTER TABLE report_cells ADD COLUMN answered_offline BIGINT NOT NULL DEFAULT 0;
ALTER TABLE report_days ADD COLUMN answered_offline BIGINT NOT NULL DEFAULT 0;
DELETE FROM report_marks;
