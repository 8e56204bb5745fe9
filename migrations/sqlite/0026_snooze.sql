-- Issue 12: snooze. An agent sets a chat or an email aside until a time (milliseconds since the
-- epoch); NULL: not snoozed. The router is rebuilt from it after a restart.
ALTER TABLE interactions ADD COLUMN snoozed_until INTEGER;
