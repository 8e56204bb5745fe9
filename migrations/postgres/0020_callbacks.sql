-- Issue 14: callbacks. A queue's policy (JSON: after how long a waiting caller is offered one,
-- how many calls are made, how long apart); NULL: callers are never offered one. An
-- interaction's callback (JSON: the number to call, not before when, calls made so far); NULL:
-- not a callback.
ALTER TABLE queues ADD COLUMN callbacks TEXT;
ALTER TABLE interactions ADD COLUMN callback TEXT;
