//! The knowledge base and canned responses, with no IO: what an article or a canned response may
//! hold (checked once, at the API's edge), Markdown made safe to show in the console, the terms
//! an article is found by, and which articles a search shows to whom and in what order. The
//! store keeps them (`store::KnowledgeStore`); `api::knowledge` serves them.

use crate::domain::{AgentId, ArticleId, CannedId, Millis, QueueId};
use crate::tokenize;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

pub const MAX_TITLE_BYTES: usize = 200;
/// An article's Markdown: a long how-to fits, a pasted manual does not.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const MAX_CATEGORY_BYTES: usize = 100;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_BYTES: usize = 50;
/// Queues or stages one article is limited to.
pub const MAX_VISIBILITY: usize = 100;
pub const MAX_STAGE_BYTES: usize = 40;
pub const MAX_SHORTCUT_CHARS: usize = 32;
/// A canned response is a reply, not an article.
pub const MAX_CANNED_BODY_BYTES: usize = 8 * 1024;
/// The most search terms a query uses: more narrow nothing down further.
pub const MAX_QUERY_TERMS: usize = 16;

/// A knowledge base article as it is kept.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Article {
    #[schema(value_type = String)]
    pub id: ArticleId,
    pub title: String,
    /// Markdown, as the author wrote it.
    pub body: String,
    /// Empty: uncategorised.
    pub category: String,
    pub tags: Vec<String>,
    /// The queues whose agents see it; empty: every queue.
    #[schema(value_type = Vec<String>)]
    pub queues: Vec<QueueId>,
    /// The lifecycle stages (keys such as `lead`, `customer`) it is for; empty: every stage.
    pub stages: Vec<String>,
    #[schema(value_type = String)]
    pub author_id: AgentId,
    /// The author's name, as the agents list shows it.
    pub author_name: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What an author writes; `check` makes it what is kept.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct ArticleDraft {
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub queues: Vec<QueueId>,
    #[serde(default)]
    pub stages: Vec<String>,
}

fn at_most(what: &str, value: &str, max: usize) -> Result<(), String> {
    if value.len() > max {
        return Err(format!("{what} may have at most {max} bytes"));
    }
    Ok(())
}

/// Trimmed, blanks dropped, duplicates dropped (first kept).
fn clean_list(values: Vec<String>, lower: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        let v = if lower {
            v.trim().to_lowercase()
        } else {
            v.trim().to_owned()
        };
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// A stage key: what the pipeline names a lifecycle stage by.
fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_STAGE_BYTES
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl ArticleDraft {
    /// The draft as it is kept (trimmed, tags lower-cased, lists without duplicates), or why not.
    pub fn check(self) -> Result<ArticleDraft, String> {
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            return Err("an article needs a title".into());
        }
        at_most("a title", &title, MAX_TITLE_BYTES)?;
        at_most("an article", &self.body, MAX_BODY_BYTES)?;
        let category = self.category.trim().to_owned();
        at_most("a category", &category, MAX_CATEGORY_BYTES)?;
        let tags = clean_list(self.tags, true);
        if tags.len() > MAX_TAGS {
            return Err(format!("an article may have at most {MAX_TAGS} tags"));
        }
        for t in &tags {
            at_most("a tag", t, MAX_TAG_BYTES)?;
        }
        let mut queues: Vec<QueueId> = Vec::new();
        for q in self.queues {
            if !queues.contains(&q) {
                queues.push(q);
            }
        }
        let stages = clean_list(self.stages, true);
        if queues.len() > MAX_VISIBILITY || stages.len() > MAX_VISIBILITY {
            return Err(format!(
                "an article may name at most {MAX_VISIBILITY} queues and stages"
            ));
        }
        if let Some(bad) = stages.iter().find(|s| !is_key(s)) {
            return Err(format!(
                "{bad:?} is not a stage key (letters, digits, - and _, at most {MAX_STAGE_BYTES})"
            ));
        }
        Ok(ArticleDraft {
            title,
            body: self.body,
            category,
            tags,
            queues,
            stages,
        })
    }
}

/// Markdown as HTML that runs nothing: pulldown-cmark renders it, then ammonia keeps only
/// harmless tags and attributes (no script, style, event handler, form or frame; links only to
/// http, https, mailto and tel, opening in a new tab without access to the console).
pub fn render(markdown: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "tel"].into())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        .clean(&raw)
        .to_string()
}

/// The first words of an article as plain text, for a list of results.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut out = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableCell,
            ) => out.push(' '),
            _ => continue,
        }
        if out.chars().count() > max_chars {
            break;
        }
    }
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() > max_chars {
        let mut cut: String = words.chars().take(max_chars).collect();
        cut.push('…');
        cut
    } else {
        words
    }
}

/// The terms an article is found by, each with whether its title has it (title hits rank
/// first): the title's, the tags' and the body's, once each.
pub fn index_terms(title: &str, body: &str, tags: &[String]) -> Vec<(String, bool)> {
    let mut terms: BTreeMap<String, bool> = BTreeMap::new();
    for t in tokenize::terms(title) {
        terms.insert(t, true);
    }
    for t in tokenize::terms(&tags.join(" "))
        .into_iter()
        .chain(tokenize::terms(body))
    {
        terms.entry(t).or_insert(false);
    }
    terms.into_iter().take(tokenize::MAX_TERMS).collect()
}

/// Who reads: supervisors and admins see every article; an agent those for every queue and for
/// the queues they serve (whose skills they have).
#[derive(Debug, Clone, PartialEq)]
pub enum Reader {
    All,
    Queues(Vec<QueueId>),
}

impl Reader {
    pub fn sees(&self, article: &Article) -> bool {
        match self {
            Reader::All => true,
            Reader::Queues(mine) => {
                article.queues.is_empty() || article.queues.iter().any(|q| mine.contains(q))
            }
        }
    }
}

/// What a list of articles is narrowed to: each is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::IntoParams)]
pub struct Filter {
    /// Only this category.
    pub category: Option<String>,
    /// Only articles shown in this queue (those for every queue included).
    #[param(value_type = Option<String>)]
    pub queue: Option<QueueId>,
    /// Only articles for this lifecycle stage (those for every stage included).
    pub stage: Option<String>,
}

impl Filter {
    pub fn keeps(&self, a: &Article) -> bool {
        self.category.as_deref().is_none_or(|c| a.category == c)
            && self
                .queue
                .is_none_or(|q| a.queues.is_empty() || a.queues.contains(&q))
            && self
                .stage
                .as_deref()
                .is_none_or(|s| a.stages.is_empty() || a.stages.iter().any(|k| k == s))
    }
}

/// The articles to show, in order. `hits`: a search's matches (all its terms found), each with
/// how many of its terms the title has; without a search, every article. Title hits first, then
/// the most recently updated.
pub fn select(
    articles: Vec<Article>,
    hits: Option<&HashMap<ArticleId, u32>>,
    reader: &Reader,
    filter: &Filter,
    limit: usize,
) -> Vec<Article> {
    let mut shown: Vec<(u32, Article)> = articles
        .into_iter()
        .filter(|a| reader.sees(a) && filter.keeps(a))
        .filter_map(|a| match hits {
            None => Some((0, a)),
            Some(h) => h.get(&a.id).map(|t| (*t, a)),
        })
        .collect();
    shown.sort_by(|(ta, a), (tb, b)| {
        tb.cmp(ta)
            .then(b.updated_at.cmp(&a.updated_at))
            .then(a.title.cmp(&b.title))
    });
    shown.into_iter().take(limit).map(|(_, a)| a).collect()
}

/// Words too common in a customer's message to suggest an article by.
const COMMON: [&str; 24] = [
    "the", "and", "for", "you", "your", "with", "this", "that", "have", "are", "was", "not", "can", "how",
    "what", "when", "want", "please", "thanks", "thank", "hello", "there", "from", "but",
];

/// The terms of a customer's message that suggest articles: each word or Chinese pair on its
/// own (any may match, unlike a search; a word as a prefix), without short or common words and
/// lone characters.
pub fn suggestion_terms(text: &str) -> Vec<tokenize::QueryTerm> {
    let mut out: Vec<tokenize::QueryTerm> = Vec::new();
    for term in tokenize::terms(text) {
        let chars = term.chars().count();
        let cjk = !term.is_ascii();
        let keep = if cjk {
            chars >= 2
        } else {
            chars >= 3 && !COMMON.contains(&term.as_str())
        };
        if keep && !out.iter().any(|t| t.text == term) {
            // A word also finds its longer forms ("discount" finds "discounts").
            out.push(tokenize::QueryTerm {
                text: term,
                prefix: !cjk,
            });
        }
        if out.len() == MAX_QUERY_TERMS {
            break;
        }
    }
    out
}

/// Adds one term's hits to a suggestion's scores: a point for the term, another when the title
/// has it.
pub fn score(scores: &mut HashMap<ArticleId, u32>, hits: &HashMap<ArticleId, u32>) {
    for (id, title) in hits {
        *scores.entry(*id).or_default() += 1 + title.min(&1);
    }
}

/// A canned response: a reply an agent inserts from the composer by its shortcut.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Canned {
    #[schema(value_type = String)]
    pub id: CannedId,
    /// The agent whose own it is; none: the account's, for everyone.
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<AgentId>,
    pub shortcut: String,
    pub title: String,
    /// Text with variables such as `{{customer.name}}`, filled in by the console.
    pub body: String,
    /// How many times agents inserted it: the composer lists the most used first.
    pub uses: u64,
    pub updated_at: Millis,
}

/// A canned response as written.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct CannedDraft {
    pub shortcut: String,
    pub title: String,
    pub body: String,
    /// The writer's own (agents' are always their own); else the account's.
    #[serde(default)]
    pub personal: bool,
}

impl CannedDraft {
    /// Trimmed, the shortcut lower-cased without a leading `/`, or why not.
    pub fn check(self) -> Result<CannedDraft, String> {
        let shortcut = self.shortcut.trim().trim_start_matches('/').to_lowercase();
        if shortcut.is_empty()
            || shortcut.chars().count() > MAX_SHORTCUT_CHARS
            || !shortcut
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            return Err(format!(
                "a shortcut is 1 to {MAX_SHORTCUT_CHARS} letters, digits, '-', '_' or '.'"
            ));
        }
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            return Err("a canned response needs a title".into());
        }
        at_most("a title", &title, MAX_TITLE_BYTES)?;
        if self.body.trim().is_empty() {
            return Err("a canned response needs a text".into());
        }
        at_most("a canned response", &self.body, MAX_CANNED_BODY_BYTES)?;
        Ok(CannedDraft {
            shortcut,
            title,
            body: self.body,
            personal: self.personal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(title: &str) -> ArticleDraft {
        ArticleDraft {
            title: title.into(),
            body: "text".into(),
            category: String::new(),
            tags: vec![],
            queues: vec![],
            stages: vec![],
        }
    }

    #[test]
    fn drafts_are_trimmed_or_refused() {
        let q = QueueId::new();
        let ok = ArticleDraft {
            title: "  退款政策 ".into(),
            category: " Billing ".into(),
            tags: vec![" Refund".into(), "refund".into(), "".into(), "VIP".into()],
            queues: vec![q, q],
            stages: vec!["Lead".into(), "lead".into(), "customer".into()],
            ..draft("")
        }
        .check()
        .unwrap();
        assert_eq!(ok.title, "退款政策");
        assert_eq!(ok.category, "Billing");
        assert_eq!(ok.tags, ["refund", "vip"]);
        assert_eq!(ok.queues, [q]);
        assert_eq!(ok.stages, ["lead", "customer"]);

        let table: Vec<(ArticleDraft, &str)> = vec![
            (draft("   "), "needs a title"),
            (draft(&"x".repeat(201)), "at most 200 bytes"),
            (
                ArticleDraft {
                    body: "x".repeat(MAX_BODY_BYTES + 1),
                    ..draft("t")
                },
                "at most 65536",
            ),
            (
                ArticleDraft {
                    tags: (0..21).map(|i| i.to_string()).collect(),
                    ..draft("t")
                },
                "at most 20 tags",
            ),
            (
                ArticleDraft {
                    stages: vec!["new lead".into()],
                    ..draft("t")
                },
                "not a stage key",
            ),
        ];
        for (d, why) in table {
            let err = d.clone().check().unwrap_err();
            assert!(err.contains(why), "{d:?}: {err}");
        }
    }

    #[test]
    fn markdown_renders_and_never_runs_script() {
        let table = [
            (
                "# Refunds\n\n**Within** 30 days",
                Some("<h1>Refunds</h1>"),
                "<strong>Within</strong>",
            ),
            ("<script>alert(1)</script>hello", Some("hello"), ""),
            ("<img src=\"x.png\" onerror=\"alert(1)\">", None, ""),
            ("[click](javascript:alert(1))", Some("click"), ""),
            ("<a href=\"javascript:alert(1)\">x</a>", Some("x"), ""),
            (
                "<div onclick=\"alert(1)\" style=\"color:red\">hi</div>",
                Some("hi"),
                "",
            ),
            ("<iframe src=\"https://evil.example\"></iframe>", None, ""),
            ("<svg><script>alert(1)</script></svg>", None, ""),
            ("[x](data:text/html,<script>alert(1)</script>)", Some("x"), ""),
            (
                "<form action=\"https://evil.example\"><input name=p></form>",
                None,
                "",
            ),
        ];
        for (md, keeps, also) in table {
            let html = render(md);
            let lower = html.to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "onclick",
                "javascript:",
                "<iframe",
                "<form",
                "<input",
                "style=",
                "data:",
            ] {
                assert!(!lower.contains(bad), "{md:?} -> {html:?} contains {bad}");
            }
            if let Some(k) = keeps {
                assert!(html.contains(k), "{md:?} -> {html:?} lacks {k}");
            }
            assert!(html.contains(also), "{md:?} -> {html:?}");
        }
        let link = render("[policy](https://example.com/refunds)");
        assert!(link.contains("href=\"https://example.com/refunds\""), "{link}");
        assert!(link.contains("rel=\"noopener noreferrer\""), "{link}");
        assert!(link.contains("target=\"_blank\""), "{link}");
        let table = render("| a | b |\n|---|---|\n| 1 | 2 |");
        assert!(
            table.contains("<table>") && table.contains("<td>1</td>"),
            "{table}"
        );
    }

    #[test]
    fn excerpts_are_plain_text() {
        assert_eq!(
            excerpt("# Refunds\n\n**Within** 30 *days*.", 100),
            "Refunds Within 30 days."
        );
        assert_eq!(excerpt("退款政策说明", 4), "退款政策…");
        assert_eq!(excerpt("<b>x</b> y", 100), "x y");
    }

    #[test]
    fn title_terms_are_marked() {
        let terms = index_terms("退款政策", "Refunds within 30 days", &["billing".into()]);
        let get = |t: &str| terms.iter().find(|(x, _)| x == t).map(|(_, title)| *title);
        assert_eq!(get("退款"), Some(true));
        assert_eq!(get("refunds"), Some(false));
        assert_eq!(get("billing"), Some(false));
        assert_eq!(get("nothing"), None);
        // A word in both the title and the body counts as the title's.
        let terms = index_terms("Refunds", "refunds take a week", &[]);
        assert_eq!(terms.iter().filter(|(t, _)| t == "refunds").count(), 1);
        assert!(terms.contains(&("refunds".into(), true)));
    }

    fn article(title: &str, queues: Vec<QueueId>, stages: &[&str], category: &str, at: Millis) -> Article {
        Article {
            id: ArticleId::new(),
            title: title.into(),
            body: String::new(),
            category: category.into(),
            tags: vec![],
            queues,
            stages: stages.iter().map(|s| s.to_string()).collect(),
            author_id: AgentId::new(),
            author_name: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn selection_by_reader_filter_and_rank() {
        let (sales, support) = (QueueId::new(), QueueId::new());
        let everyone = article("Everyone", vec![], &[], "general", 1);
        let sales_only = article("Sales", vec![sales], &["lead"], "billing", 2);
        let support_only = article("Support", vec![support], &["customer"], "billing", 3);
        let all = vec![everyone.clone(), sales_only.clone(), support_only.clone()];
        let titles = |v: Vec<Article>| v.into_iter().map(|a| a.title).collect::<Vec<_>>();
        let none = Filter::default();
        let agent = Reader::Queues(vec![sales]);
        let nobody = Reader::Queues(vec![]);
        let table: Vec<(&Reader, Filter, Vec<&str>)> = vec![
            (&Reader::All, none.clone(), vec!["Support", "Sales", "Everyone"]),
            (&agent, none.clone(), vec!["Sales", "Everyone"]),
            (&nobody, none.clone(), vec!["Everyone"]),
            (
                &Reader::All,
                Filter {
                    category: Some("billing".into()),
                    ..none.clone()
                },
                vec!["Support", "Sales"],
            ),
            (
                &Reader::All,
                Filter {
                    queue: Some(support),
                    ..none.clone()
                },
                vec!["Support", "Everyone"],
            ),
            (
                &Reader::All,
                Filter {
                    stage: Some("lead".into()),
                    ..none.clone()
                },
                vec!["Sales", "Everyone"],
            ),
            (
                &agent,
                Filter {
                    stage: Some("customer".into()),
                    ..none.clone()
                },
                vec!["Everyone"],
            ),
        ];
        for (reader, filter, want) in table {
            assert_eq!(
                titles(select(all.clone(), None, reader, &filter, 10)),
                want,
                "{reader:?} {filter:?}"
            );
        }
        // A search: only its hits, title hits first, then the newest.
        let hits = HashMap::from([(everyone.id, 1), (sales_only.id, 0), (support_only.id, 0)]);
        assert_eq!(
            titles(select(all.clone(), Some(&hits), &Reader::All, &none, 10)),
            ["Everyone", "Support", "Sales"]
        );
        let hits = HashMap::from([(sales_only.id, 0)]);
        assert_eq!(
            titles(select(
                all.clone(),
                Some(&hits),
                &Reader::Queues(vec![support]),
                &none,
                10
            )),
            Vec::<String>::new()
        );
        assert_eq!(titles(select(all, None, &Reader::All, &none, 1)), ["Support"]);
    }

    #[test]
    fn suggestions_come_from_the_telling_words_of_a_message() {
        let texts = |v: Vec<tokenize::QueryTerm>| v.into_iter().map(|t| t.text).collect::<Vec<_>>();
        assert_eq!(
            texts(suggestion_terms("我想申请退款")),
            ["我想", "想申", "申请", "请退", "退款"]
        );
        assert_eq!(
            texts(suggestion_terms("Hello, I want my REFUND please, refund!")),
            ["refund"]
        );
        assert_eq!(texts(suggestion_terms("ok? no")), Vec::<String>::new());
        assert!(suggestion_terms("").is_empty());
        let (a, b) = (ArticleId::new(), ArticleId::new());
        let mut scores = HashMap::new();
        score(&mut scores, &HashMap::from([(a, 1), (b, 0)]));
        score(&mut scores, &HashMap::from([(b, 0)]));
        assert_eq!(scores, HashMap::from([(a, 2), (b, 2)]));
        score(&mut scores, &HashMap::from([(a, 3)]));
        assert_eq!(scores[&a], 4);
    }

    #[test]
    fn canned_drafts_are_checked() {
        let d = |shortcut: &str, title: &str, body: &str| CannedDraft {
            shortcut: shortcut.into(),
            title: title.into(),
            body: body.into(),
            personal: false,
        };
        let ok = d(" /Refund ", " Refund ", "Hello {{customer.name}}")
            .check()
            .unwrap();
        assert_eq!((ok.shortcut.as_str(), ok.title.as_str()), ("refund", "Refund"));
        assert_eq!(d("退款", "t", "b").check().unwrap().shortcut, "退款");
        for (bad, why) in [
            (d("", "t", "b"), "a shortcut"),
            (d("two words", "t", "b"), "a shortcut"),
            (d(&"a".repeat(33), "t", "b"), "a shortcut"),
            (d("x", " ", "b"), "needs a title"),
            (d("x", "t", "  "), "needs a text"),
            (d("x", "t", &"b".repeat(MAX_CANNED_BODY_BYTES + 1)), "at most"),
        ] {
            let err = bad.clone().check().unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
