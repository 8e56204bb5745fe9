//! HTML mail, after parsing and before the console: `sanitise` makes a mail's HTML safe to show an
//! agent (ammonia's allow-list, remote images held back until the agent asks for them), and
//! `to_text` derives the plain text of a mail that has only HTML. Pure: no IO.

use ammonia::{Builder, UrlRelative};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, EndTag, StartTag, Tag, Token, TokenSink, TokenSinkResult, Tokenizer,
};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::LazyLock;

/// The attribute a remote image's address moves to: the console shows the image only after the
/// agent clicks "show images", so opening a mail tells no tracker that it was read.
pub const REMOTE_SRC: &str = "data-remote-src";

/// CSS properties kept in `style` attributes: enough for a mail's layout to read, none that can
/// fetch anything (`background`, `list-style-image`, `content`, `cursor`) or lay one element over
/// the console (`position`, `z-index`, `display`, `transform`).
const STYLE_PROPERTIES: &[&str] = &[
    "color",
    "background-color",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "line-height",
    "vertical-align",
    "white-space",
    "width",
    "height",
    "max-width",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-collapse",
    "border-color",
    "border-style",
    "border-width",
];

static SANITISER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let mut builder = Builder::default();
    builder
        // Mail has no base to resolve against; a relative URL would point at the console's own
        // origin.
        .url_relative(UrlRelative::Deny)
        .url_schemes(HashSet::from(["http", "https", "mailto", "tel", "cid", "data"]))
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        .add_tag_attributes("img", [REMOTE_SRC])
        .add_tag_attributes("td", ["style", "bgcolor", "width", "height"])
        .add_tag_attributes("th", ["style", "bgcolor", "width", "height"])
        .add_tag_attributes(
            "table",
            ["style", "width", "cellpadding", "cellspacing", "border"],
        )
        .add_tag_attributes("font", ["color", "face", "size"])
        .add_tags(["font", "center"])
        .add_generic_attributes(["style"])
        .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect())
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            // Only images may be data: URLs, and only raster ones (an SVG can carry script).
            ("img", "src") if has_scheme(value, "data") => {
                let raster = [
                    "data:image/png",
                    "data:image/gif",
                    "data:image/jpeg",
                    "data:image/webp",
                ];
                raster
                    .iter()
                    .any(|prefix| starts_with_ignore_case(value, prefix))
                    .then_some(Cow::Borrowed(value))
            }
            (_, "href" | "src" | "cite") if has_scheme(value, "data") => None,
            // What `block_remote_images` moved stays a web address, never a script.
            ("img", REMOTE_SRC) if !is_remote(value) => None,
            _ => Some(Cow::Borrowed(value)),
        });
    builder
});

/// A mail's HTML made safe to show inside the console: no script, event handlers, forms, frames,
/// embedded objects, style sheets or position tricks; links open in a new tab without telling the
/// target where they came from; `cid:` images left for the console to map to the attachments;
/// remote images kept only as `data-remote-src` (no `src`) until the agent asks for them.
pub fn sanitise(html: &str) -> String {
    let clean = SANITISER.clean(html).to_string();
    if !clean.contains("<img") {
        return clean;
    }
    // ammonia's output has no raw-text element left (no script, style, textarea...), so the
    // tokenizer reads it exactly as a browser would, and the rewrite re-serialises it with the
    // same escaping; the tests check that what comes out is a fixed point of the sanitiser.
    block_remote_images(&clean)
}

fn has_scheme(url: &str, scheme: &str) -> bool {
    let url = url.trim_start();
    url.len() > scheme.len()
        && url.as_bytes()[scheme.len()] == b':'
        && url[..scheme.len()].eq_ignore_ascii_case(scheme)
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn is_remote(url: &str) -> bool {
    has_scheme(url, "http") || has_scheme(url, "https")
}

/// Runs the HTML tokenizer over `html`, handing every token to `sink`. The sink switches the
/// tokenizer into raw text where a tree builder would (RFC-less: the WHATWG tokenizer states), so
/// a `<style>` or `<script>` body is read as text rather than as tags.
fn tokenize<S: TokenSink<Handle = ()>>(html: &str, sink: S) -> S {
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let tokenizer = Tokenizer::new(sink, Default::default());
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink
}

/// The raw-text state the tree builder would switch the tokenizer into after this start tag.
fn raw_kind(tag: &Tag) -> Option<RawKind> {
    match &*tag.name {
        "script" => Some(RawKind::ScriptData),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => Some(RawKind::Rawtext),
        "title" | "textarea" => Some(RawKind::Rcdata),
        _ => None,
    }
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
}

/// Moves every `<img src="http(s):...">` to `data-remote-src` in sanitised HTML (which has no
/// script, style or other raw-text element left), re-serialising the rest as it was.
fn block_remote_images(clean: &str) -> String {
    #[derive(Default)]
    struct Rewriter {
        out: RefCell<String>,
    }
    impl TokenSink for Rewriter {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            let mut out = self.out.borrow_mut();
            match token {
                Token::TagToken(tag) => {
                    let raw = raw_kind(&tag);
                    if tag.kind == EndTag {
                        out.push_str("</");
                        out.push_str(&tag.name);
                        out.push('>');
                        return TokenSinkResult::Continue;
                    }
                    let remote = &*tag.name == "img"
                        && tag
                            .attrs
                            .iter()
                            .any(|a| &*a.name.local == "src" && is_remote(&a.value));
                    out.push('<');
                    out.push_str(&tag.name);
                    for attr in &tag.attrs {
                        let name: &str = &attr.name.local;
                        let name = if remote && name == "src" { REMOTE_SRC } else { name };
                        out.push(' ');
                        out.push_str(name);
                        out.push_str("=\"");
                        escape_attribute(&attr.value, &mut out);
                        out.push('"');
                    }
                    out.push('>');
                    if let Some(kind) = raw {
                        return TokenSinkResult::RawData(kind);
                    }
                }
                Token::CharacterTokens(text) => escape_text(&text, &mut out),
                Token::NullCharacterToken
                | Token::CommentToken(_)
                | Token::DoctypeToken(_)
                | Token::EOFToken
                | Token::ParseError(_) => {}
            }
            TokenSinkResult::Continue
        }
    }
    tokenize(clean, Rewriter::default()).out.into_inner()
}

/// The text a reader sees in `html`: the content of the body without tags, script, style or the
/// head; a line break for `<br>` and around blocks, a blank line around paragraphs; runs of white
/// space collapsed as a browser does, except inside `<pre>`. For mails that have no text part.
pub fn to_text(html: &str) -> String {
    #[derive(Default)]
    struct Text {
        out: RefCell<String>,
        /// Inside script, style, head or title: nothing in it is shown.
        hidden: RefCell<u32>,
        pre: RefCell<u32>,
    }
    impl Text {
        fn newlines(&self, n: usize) {
            let mut out = self.out.borrow_mut();
            while out.ends_with(' ') {
                out.pop();
            }
            if out.is_empty() {
                return;
            }
            let have = out.chars().rev().take_while(|c| *c == '\n').count();
            for _ in have..n {
                out.push('\n');
            }
        }
    }
    impl TokenSink for Text {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            match token {
                Token::TagToken(tag) => {
                    let start = tag.kind == StartTag;
                    let name: &str = &tag.name;
                    match name {
                        "script" | "style" | "head" | "title" | "template" | "noscript" => {
                            let mut hidden = self.hidden.borrow_mut();
                            if start && !tag.self_closing {
                                *hidden += 1;
                            } else if !start {
                                *hidden = hidden.saturating_sub(1);
                            }
                        }
                        "pre" => {
                            let mut pre = self.pre.borrow_mut();
                            if start {
                                *pre += 1;
                            } else {
                                *pre = pre.saturating_sub(1);
                            }
                            drop(pre);
                            self.newlines(1);
                        }
                        "br" => self.out.borrow_mut().push('\n'),
                        "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote" | "table" | "ul"
                        | "ol" | "hr" => self.newlines(2),
                        "div" | "tr" | "li" | "dl" | "dt" | "dd" | "section" | "article" | "header"
                        | "footer" | "address" | "center" | "body" | "form" => self.newlines(1),
                        "td" | "th" | "button" if !start => self.out.borrow_mut().push(' '),
                        _ => {}
                    }
                    if start && *self.hidden.borrow() == 0 && name == "li" {
                        self.out.borrow_mut().push_str("- ");
                    }
                    if start && let Some(kind) = raw_kind(&tag) {
                        return TokenSinkResult::RawData(kind);
                    }
                }
                Token::CharacterTokens(text) if *self.hidden.borrow() == 0 => {
                    let mut out = self.out.borrow_mut();
                    if *self.pre.borrow() > 0 {
                        out.push_str(&text);
                    } else {
                        for c in text.chars() {
                            if c.is_whitespace() && c != '\u{a0}' {
                                if !(out.is_empty() || out.ends_with([' ', '\n'])) {
                                    out.push(' ');
                                }
                            } else if c == '\u{a0}' {
                                out.push(' ');
                            } else {
                                out.push(c);
                            }
                        }
                    }
                }
                _ => {}
            }
            TokenSinkResult::Continue
        }
    }
    let text = tokenize(html, Text::default()).out.into_inner();
    tidy(&text)
}

/// Trailing spaces off every line, at most one blank line in a row, none at either end.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Attribute names a sanitised element keeps, for the tests.
#[cfg(test)]
fn attributes(html: &str, element: &str) -> Vec<std::collections::HashMap<String, String>> {
    use std::collections::HashMap;
    struct Collect<'a> {
        element: &'a str,
        found: RefCell<Vec<HashMap<String, String>>>,
    }
    impl TokenSink for Collect<'_> {
        type Handle = ();
        fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
            if let Token::TagToken(tag) = token
                && tag.kind == StartTag
                && &*tag.name == self.element
            {
                let attrs = tag
                    .attrs
                    .iter()
                    .map(|a| (a.name.local.to_string(), a.value.to_string()))
                    .collect();
                self.found.borrow_mut().push(attrs);
            }
            TokenSinkResult::Continue
        }
    }
    let sink = Collect {
        element,
        found: RefCell::default(),
    };
    tokenize(html, sink).found.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document as a browser reads it: tags with their attributes (in any order), text.
    fn read(html: &str) -> Vec<String> {
        #[derive(Default)]
        struct Read(RefCell<Vec<String>>);
        impl TokenSink for Read {
            type Handle = ();
            fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
                let item = match token {
                    Token::TagToken(tag) => {
                        let mut attrs: Vec<String> = tag
                            .attrs
                            .iter()
                            .map(|a| format!("{}={:?}", a.name.local, &*a.value))
                            .collect();
                        attrs.sort();
                        format!("{:?} {} {attrs:?}", tag.kind, tag.name)
                    }
                    Token::CharacterTokens(text) => format!("text:{text}"),
                    _ => return TokenSinkResult::Continue,
                };
                let mut items = self.0.borrow_mut();
                // The tokenizer may split a run of text; join it back.
                match (items.last_mut(), item.strip_prefix("text:")) {
                    (Some(last), Some(more)) if last.starts_with("text:") => {
                        last.push_str(more);
                    }
                    _ => items.push(item),
                }
                TokenSinkResult::Continue
            }
        }
        tokenize(html, Read::default()).0.into_inner()
    }

    /// Sanitising `out` again changes nothing a browser would see: everything in it is what the
    /// sanitiser lets through.
    fn assert_fixed_point(out: &str) {
        assert_eq!(read(&SANITISER.clean(out).to_string()), read(out), "{out}");
    }

    /// Every way a hostile mail tries to run script or reach out, and what must be left of it.
    #[test]
    fn hostile_html_is_defused() {
        let table: &[(&str, &str, &[&str])] = &[
            // (input, text that must survive, fragments that must not)
            (
                "<p>Hi</p><script>alert(1)</script>",
                "<p>Hi</p>",
                &["script", "alert"],
            ),
            ("<img src=x onerror=alert(1)>", "", &["onerror", "alert"]),
            (
                "<p onclick=\"steal()\">Click</p>",
                "<p>Click</p>",
                &["onclick", "steal"],
            ),
            (
                "<form action=https://evil.example/login><input name=password><button>Log in</button></form>",
                "Log in",
                &["<form", "<input", "<button", "evil.example"],
            ),
            ("<a href=\"javascript:alert(1)\">win</a>", "win", &["javascript"]),
            ("<a href=\"JaVaScRiPt:alert(1)\">win</a>", "win", &["alert"]),
            (
                "<svg onload=alert(1)><circle r=1></circle></svg>ok",
                "ok",
                &["svg", "onload"],
            ),
            (
                "<style>body{display:none}</style><p>visible</p>",
                "<p>visible</p>",
                &["<style", "display"],
            ),
            (
                "<iframe src=\"https://evil.example\"></iframe>after",
                "after",
                &["iframe", "evil"],
            ),
            (
                "<object data=x.swf></object><embed src=y>z",
                "z",
                &["object", "embed"],
            ),
            (
                "<meta http-equiv=refresh content=\"0;url=https://evil.example\">m",
                "m",
                &["meta", "refresh"],
            ),
            (
                "<link rel=stylesheet href=https://evil.example/a.css>l",
                "l",
                &["link", "evil"],
            ),
            (
                "<div style=\"position:fixed;top:0;left:0;z-index:9999;background:url(https://t.example/p)\">over</div>",
                "over",
                &["position", "z-index", "url(", "t.example"],
            ),
            (
                "<a href=\"data:text/html,<script>alert(1)</script>\">d</a>",
                "d",
                &["data:", "alert"],
            ),
            (
                "<img src=\"data:image/svg+xml,<svg onload=alert(1)>\">",
                "",
                &["svg", "alert"],
            ),
            ("<img src=\"/track.gif\">rel", "rel", &["track"]),
            ("<base href=\"https://evil.example/\">b", "b", &["base", "evil"]),
            (
                "<!--[if mso]><script>x()</script><![endif]-->c",
                "c",
                &["script", "x()"],
            ),
            // MathML and SVG go whole: their content is another namespace.
            (
                "<math><mi xlink:href=\"javascript:alert(1)\">m</mi></math>",
                "",
                &["javascript"],
            ),
            // Raw text stays text: escaped, never a tag.
            (
                "<textarea><img src=x onerror=alert(1)></textarea>t",
                "t",
                &["<img"],
            ),
            (
                "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
                "",
                &["onerror=", "alert(1)"],
            ),
        ];
        for (input, keep, forbidden) in table {
            let out = sanitise(input);
            assert_fixed_point(&out);
            assert!(out.contains(keep), "{input:?} -> {out:?} lost {keep:?}");
            for bad in *forbidden {
                assert!(
                    !out.to_ascii_lowercase().contains(&bad.to_ascii_lowercase()),
                    "{input:?} -> {out:?} still has {bad:?}"
                );
            }
        }
    }

    #[test]
    fn links_open_in_a_new_tab_without_a_referrer() {
        let out = sanitise("<a href=\"https://example.com/a?b=1&amp;c=2\">site</a>");
        let links = attributes(&out, "a");
        assert_eq!(links.len(), 1);
        assert_eq!(links[0]["href"], "https://example.com/a?b=1&c=2");
        assert_eq!(links[0]["rel"], "noopener noreferrer");
        assert_eq!(links[0]["target"], "_blank");
        let mail = sanitise("<a href=\"mailto:someone@example.com\">mail</a>");
        assert_eq!(attributes(&mail, "a")[0]["href"], "mailto:someone@example.com");
    }

    #[test]
    fn remote_images_wait_for_the_agent_and_inline_ones_stay() {
        let out = sanitise(
            "<p><img src=\"https://tracker.example/open.gif?u=1&amp;m=2\" width=1 height=1>\
             <img src=\"cid:logo@example.com\" alt=\"Logo\">\
             <img src=\"data:image/png;base64,iVBORw0KGgo=\"></p>",
        );
        let images = attributes(&out, "img");
        assert_eq!(images.len(), 3, "{out}");
        assert!(!images[0].contains_key("src"), "{out}");
        assert_eq!(images[0][REMOTE_SRC], "https://tracker.example/open.gif?u=1&m=2");
        assert_eq!(images[1]["src"], "cid:logo@example.com");
        assert_eq!(images[1]["alt"], "Logo");
        assert_eq!(images[2]["src"], "data:image/png;base64,iVBORw0KGgo=");
        // What the rewrite wrote is exactly what the sanitiser would let through.
        assert_fixed_point(&out);
        let tricky = sanitise(
            "<p title='a \"quoted\" &amp; <odd> value'>x &lt;y&gt; &amp;amp; \u{a0}z\
             <img src=\"http://t.example/?a=1&amp;b=&quot;2&quot;\" alt='\"<>&amp;'></p>",
        );
        assert_fixed_point(&tricky);
        assert_eq!(
            attributes(&tricky, "img")[0][REMOTE_SRC],
            "http://t.example/?a=1&b=\"2\""
        );
        // A mail cannot smuggle a script address into the remote slot either.
        let forged = sanitise("<img data-remote-src=\"javascript:alert(1)\">");
        assert!(!forged.contains("javascript"), "{forged}");
    }

    #[test]
    fn layout_survives() {
        let out = sanitise(
            "<table width=\"100%\"><tr><td style=\"color: #333; font-weight: bold\">\
             Cell &amp; &lt;more&gt;</td></tr></table><p class=MsoNormal>Outlook<o:p></o:p></p>",
        );
        assert!(out.contains("color:"), "{out}");
        assert!(out.contains("Cell &amp; &lt;more&gt;"), "{out}");
        assert!(out.contains("Outlook"), "{out}");
        assert!(!out.contains("o:p"), "{out}");
    }

    #[test]
    fn text_comes_from_the_visible_body() {
        let html = "<html><head><title>Ignored</title><style>p{color:red}</style></head>\
                    <body><p>Hello&nbsp;there,</p><p>line one<br>line   two</p>\
                    <script>var x = '<p>no</p>';</script>\
                    <ul><li>first</li><li>second</li></ul>\
                    <div>你好，世界 &amp; more</div><pre>  keep\n    this</pre></body></html>";
        assert_eq!(
            to_text(html),
            "Hello there,\n\nline one\nline two\n\n- first\n- second\n\n你好，世界 & more\n  keep\n    this"
        );
    }
}
