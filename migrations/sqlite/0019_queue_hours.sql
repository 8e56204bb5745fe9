-- Issue 14: a queue's business hours (JSON: time zone, spans per weekday, holidays, whether it
-- also closes while nobody is staffed); NULL: always open. A caller outside them leaves a
-- voicemail.
ALTER TABLE queues ADD COLUMN hours TEXT;
