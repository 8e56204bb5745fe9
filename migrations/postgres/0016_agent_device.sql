-- Issue 14: where an agent takes their calls, their SIP desk phone ('desk') or the console's
-- WebRTC softphone ('browser').
ALTER TABLE agents ADD COLUMN device TEXT NOT NULL DEFAULT 'desk';
