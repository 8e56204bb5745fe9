-- A one-character query (a Chinese character, which a search takes as a prefix: 退 finds 退款 and
-- 退货) merged the doclists of every term starting with it: 160 ms at a million messages. FTS5
-- keeps a prefix index of one character beside the terms with `prefix = '1'` (FTS5 counts it in
-- characters, so a CJK character is one), read as a single term. The option is set when the
-- table is made, so the index is made again: emptying `search_docs` makes the hub's indexer file
-- every message afresh (in the background, oldest first; a search meanwhile finds what is filed).
DROP TABLE message_search;
DELETE FROM search_docs;
CREATE VIRTUAL TABLE message_search USING fts5 (
    terms,
    content = '',
    detail = 'none',
    columnsize = 0,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '1'
);
