//! Text into search terms, for every full-text index the hub keeps (conversations now, the
//! knowledge base next): the indexer turns a message into terms before the store files them, and
//! a search turns what the agent typed into the same terms. Pure: no IO, no allocation beyond
//! the terms.
//!
//! Why bigrams: Chinese and Japanese are written without spaces, so a word tokenizer sees a whole
//! sentence as one token and a search for 退款 ("refund") inside 我想申请退款 finds nothing.
//! Overlapping pairs of characters (我想 想申 申请 请退 退款) make every two-character word of the
//! sentence a term without a dictionary, and most Chinese words are two characters long. A
//! longer query becomes its pairs, all required (申请退款 → 申请 请退 退款). The last character of
//! each run is also a term on its own, so a one-character query (退, as a prefix) finds every
//! place the character occurs: either a pair starts with it or a run ends with it.
//! SQLite's trigram tokenizer was the alternative: it needs three characters to match, and two
//! is the common Chinese word. Other scripts (Latin, Cyrillic, digits) are split into words and
//! lower-cased, as a word tokenizer would.

/// The most terms one text yields: a message is at most 64 KiB, and a search index entry larger
/// than this adds little.
pub const MAX_TERMS: usize = 4096;

/// A term never longer than this, in bytes: a 200-character token is a hash or a URL fragment,
/// not something anyone searches for.
const MAX_TERM_BYTES: usize = 64;

/// Whether a character is searched by pairs: Han and kana, written without spaces between words,
/// and Hangul syllables, whose words change their endings (pairs find the stem).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x3134F  // Extensions B to G
    )
}

/// The terms of a text, in order of appearance, duplicates kept (the index does not care, and a
/// caller counting occurrences may).
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    for c in text.chars() {
        if out.len() >= MAX_TERMS {
            break;
        }
        if is_cjk(c) {
            push_word(&mut out, &mut word);
            run.push(c);
        } else if c.is_alphanumeric() {
            push_run(&mut out, &mut run);
            word.extend(c.to_lowercase());
        } else {
            push_word(&mut out, &mut word);
            push_run(&mut out, &mut run);
        }
    }
    push_word(&mut out, &mut word);
    push_run(&mut out, &mut run);
    out.truncate(MAX_TERMS);
    out
}

fn push_word(out: &mut Vec<String>, word: &mut String) {
    if !word.is_empty() && word.len() <= MAX_TERM_BYTES {
        out.push(std::mem::take(word));
    }
    word.clear();
}

fn push_run(out: &mut Vec<String>, run: &mut Vec<char>) {
    for pair in run.windows(2) {
        out.push(pair.iter().collect());
    }
    if let Some(last) = run.last() {
        out.push(last.to_string());
    }
    run.clear();
}

/// One term a search requires. `prefix` matches every indexed term that starts with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTerm {
    pub text: String,
    pub prefix: bool,
}

/// What an agent typed, as the terms a matching text must all contain. A run of CJK characters
/// is its pairs; a lone character is a prefix (see the module's note). The last word is a prefix
/// too, so results follow the agent's typing ("refu" finds "refund"). Duplicates are dropped.
pub fn query(text: &str) -> Vec<QueryTerm> {
    let mut out: Vec<QueryTerm> = Vec::new();
    let mut add = |text: String, prefix: bool| {
        if !out.iter().any(|t| t.text == text) {
            out.push(QueryTerm { text, prefix });
        }
    };
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    let flush_run = |run: &mut Vec<char>, add: &mut dyn FnMut(String, bool)| {
        match run.len() {
            0 => {}
            1 => add(run[0].to_string(), true),
            _ => run.windows(2).for_each(|p| add(p.iter().collect(), false)),
        }
        run.clear();
    };
    let mut words: Vec<String> = Vec::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            run.push(c);
        } else {
            flush_run(&mut run, &mut add);
            if c.is_alphanumeric() {
                word.extend(c.to_lowercase());
            } else if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        }
    }
    flush_run(&mut run, &mut add);
    if !word.is_empty() {
        words.push(word);
    }
    let last = words.len().saturating_sub(1);
    for (n, w) in words.into_iter().enumerate() {
        if w.len() <= MAX_TERM_BYTES {
            add(w, n == last);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(text: &str, prefix: bool) -> QueryTerm {
        QueryTerm {
            text: text.into(),
            prefix,
        }
    }

    #[test]
    fn texts_become_terms() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("Refund, please!", &["refund", "please"]),
            ("我想申请退款", &["我想", "想申", "申请", "请退", "退款", "款"]),
            ("退", &["退"]),
            ("订单123号", &["订单", "单", "123", "号"]),
            ("Order #A-17 已发货", &["order", "a", "17", "已发", "发货", "货"]),
            ("カタカナ", &["カタ", "タカ", "カナ", "ナ"]),
            ("ÉCOLE straße", &["école", "straße"]),
            ("  \n\t", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(terms(text), want.to_vec(), "{text:?}");
        }
    }

    #[test]
    fn queries_become_required_terms() {
        let cases: &[(&str, Vec<QueryTerm>)] = &[
            ("", vec![]),
            ("退款", vec![t("退款", false)]),
            (
                "申请退款",
                vec![t("申请", false), t("请退", false), t("退款", false)],
            ),
            ("退", vec![t("退", true)]),
            ("refund order", vec![t("refund", false), t("order", true)]),
            ("Refu", vec![t("refu", true)]),
            ("退款 refund 退款", vec![t("退款", false), t("refund", true)]),
            ("!!!", vec![]),
        ];
        for (text, want) in cases {
            assert_eq!(&query(text), want, "{text:?}");
        }
    }

    #[test]
    fn a_huge_token_is_not_a_term() {
        assert_eq!(terms(&"x".repeat(500)), Vec::<String>::new());
        assert_eq!(terms(&"退".repeat(MAX_TERMS * 2)).len(), MAX_TERMS);
    }

    /// Does an indexed text hold every query term (a prefix term: some term starting with it)?
    fn matches(indexed: &[String], q: &[QueryTerm]) -> bool {
        q.iter().all(|t| {
            indexed.iter().any(|i| {
                if t.prefix {
                    i.starts_with(&t.text)
                } else {
                    *i == t.text
                }
            })
        })
    }

    proptest! {
        /// Whatever an agent copies out of a message, cut where words end (a space, punctuation
        /// or a change of script), finds that message again.
        #[test]
        fn a_piece_of_a_message_finds_it(
            parts in proptest::collection::vec(prop_oneof![
                ("[a-zA-Z0-9]{1,8}", "[ ,.!?]{1,2}").prop_map(|(w, s)| w + &s),
                ("[退款申请订单发货我想你好]{1,6}", "[ ,]{0,1}").prop_map(|(w, s)| w + &s),
            ], 1..12),
            from in 0usize..12, len in 1usize..12,
        ) {
            let text: String = parts.concat();
            let from = from.min(parts.len() - 1);
            let to = (from + len).min(parts.len());
            let piece: String = parts[from..to].concat();
            prop_assert!(matches(&terms(&text), &query(&piece)), "{piece:?} in {text:?}");
        }

        /// A CJK character that is not in a text never matches it alone.
        #[test]
        fn an_absent_character_finds_nothing(text in "[退款申请订单 a-z]{0,30}") {
            prop_assert!(!matches(&terms(&text), &query("货")));
        }
    }
}
