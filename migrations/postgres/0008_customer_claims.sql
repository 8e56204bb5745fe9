-- Issue 11: what a web visitor typed in the pre-chat form (email, phone) without proof, as JSON
-- {"email": ..., "phone": ...}. Agents see it; it never finds, merges or adds to a customer.
ALTER TABLE customers ADD COLUMN claimed TEXT;
