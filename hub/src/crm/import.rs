//! Customers from a spreadsheet: the CSV a supervisor uploads (`POST /customers/import`) read
//! into rows (RFC 4180), its columns mapped to customer fields (suggested from the headers, in
//! English or Chinese), and each row checked into a candidate or refused with a reason. Pure; the
//! REST handler finds duplicates by email and phone and writes.

use super::fields::{self, FieldDef};
use plugboard_channel::RawIdentity;
use serde::{Deserialize, Serialize};

/// The most rows one import takes.
pub const MAX_ROWS: usize = 100_000;

/// What a column holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "key", rename_all = "snake_case")]
pub enum Column {
    Name,
    Email,
    Phone,
    Tier,
    /// Tags separated by `;` or `,`.
    Tags,
    /// One of the account's own fields, by key.
    Field(String),
    Ignore,
}

impl Column {
    /// As the query string names it: `name`, `email`, `phone`, `tier`, `tags`, `field:<key>`, or
    /// empty (or `ignore`) for a column left out.
    pub fn parse(s: &str, defs: &[FieldDef]) -> Result<Column, String> {
        Ok(match s.trim() {
            "" | "ignore" => Column::Ignore,
            "name" => Column::Name,
            "email" => Column::Email,
            "phone" => Column::Phone,
            "tier" => Column::Tier,
            "tags" => Column::Tags,
            other => match other.strip_prefix("field:") {
                Some(key) if defs.iter().any(|d| d.key == key) => Column::Field(key.into()),
                _ => return Err(format!("no such column kind or field: {other:?}")),
            },
        })
    }

    /// What a header most likely means: the customer export's own headers, common English and
    /// Chinese ones, and the account's fields by label or key.
    pub fn suggest(header: &str, defs: &[FieldDef]) -> Column {
        let h = header.trim().to_lowercase();
        let is = |names: &[&str]| names.contains(&h.as_str());
        if is(&[
            "name",
            "full name",
            "customer",
            "contact",
            "姓名",
            "名字",
            "客户",
            "客户名称",
        ]) {
            Column::Name
        } else if is(&[
            "email",
            "e-mail",
            "email address",
            "mail",
            "邮箱",
            "电子邮件",
            "邮件",
        ]) {
            Column::Email
        } else if is(&[
            "phone",
            "mobile",
            "telephone",
            "phone number",
            "tel",
            "电话",
            "手机",
            "手机号",
            "电话号码",
        ]) {
            Column::Phone
        } else if is(&["tier", "level", "等级", "级别"]) {
            Column::Tier
        } else if is(&["tags", "tag", "labels", "标签"]) {
            Column::Tags
        } else if let Some(d) = defs
            .iter()
            .find(|d| d.key == h || d.label.trim().to_lowercase() == h)
        {
            Column::Field(d.key.clone())
        } else {
            Column::Ignore
        }
    }
}

/// A row as it would become a customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub identities: Vec<RawIdentity>,
    pub tier: Option<String>,
    pub tags: Vec<String>,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// Reads CSV text into rows: quoted cells may hold commas, quotes (doubled) and line breaks; a
/// byte-order mark and blank lines are dropped. `Err` names the line of an unclosed quote.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = vec![];
    let mut row = vec![];
    let mut cell = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut opened_at = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                cell.push(c);
            }
            (false, '"') if cell.is_empty() => {
                quoted = true;
                opened_at = line;
            }
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n' | '\r') => {
                line += 1;
                row.push(std::mem::take(&mut cell));
                if row.iter().any(|c| !c.trim().is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        return Err(format!("line {opened_at}: a quote is never closed"));
    }
    row.push(cell);
    if row.iter().any(|c| !c.trim().is_empty()) {
        rows.push(row);
    }
    Ok(rows)
}

/// A cell as the customer export wrote it: a leading `'` before `=`, `+`, `-` or `@` is the
/// export's guard against formulas, not part of the value.
fn unguarded(cell: &str) -> &str {
    let cell = cell.trim();
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => cell,
    }
}

/// A row into a candidate by the mapping, or why it can't be one.
pub fn candidate(row: &[String], columns: &[Column], defs: &[FieldDef]) -> Result<Candidate, String> {
    let mut c = Candidate {
        name: String::new(),
        identities: vec![],
        tier: None,
        tags: vec![],
        fields: serde_json::Map::new(),
    };
    let mut values = serde_json::Map::new();
    for (cell, column) in row.iter().zip(columns) {
        let cell = unguarded(cell);
        if cell.is_empty() {
            continue;
        }
        match column {
            Column::Name => c.name = cell.to_owned(),
            Column::Email => c.identities.push(RawIdentity::Email(cell.to_owned())),
            Column::Phone => c.identities.push(RawIdentity::Phone(cell.to_owned())),
            Column::Tier => c.tier = Some(cell.to_owned()),
            Column::Tags => {
                c.tags = cell
                    .split([';', ',', '，', '；'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            Column::Field(key) => {
                let def = defs.iter().find(|d| &d.key == key);
                values.insert(key.clone(), field_value(cell, def));
            }
            Column::Ignore => {}
        }
    }
    if c.name.is_empty() {
        return Err("no name".into());
    }
    if c.identities.is_empty() {
        return Err("no email or phone".into());
    }
    if !values.is_empty() {
        c.fields = fields::check_values(defs, &values)?;
    }
    Ok(c)
}

/// A cell as its field's kind takes it: a number as a number, a multi-choice split like tags.
fn field_value(cell: &str, def: Option<&FieldDef>) -> serde_json::Value {
    match def.map(|d| d.kind) {
        Some(fields::FieldKind::Number) => cell
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| cell.into(), serde_json::Value::Number),
        Some(fields::FieldKind::MultiChoice) => cell
            .split([';', ','])
            .map(|s| serde_json::Value::from(s.trim()))
            .collect(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Vec<FieldDef> {
        serde_json::from_value(serde_json::json!([
            {"key": "plan", "label": "Plan", "kind": "choice", "choices": ["Free", "Pro"]},
            {"key": "seats", "label": "席位", "kind": "number"},
            {"key": "products", "label": "Products", "kind": "multi_choice", "choices": ["Phones", "Mail"]}
        ]))
        .unwrap()
    }

    #[test]
    fn csv_cells_may_hold_commas_quotes_and_line_breaks() {
        let text =
            "\u{feff}name,email\r\n\"Wang, Fang\",\"a\"\"b@example.com\"\r\n\r\n\"two\nlines\",x\nlast,";
        assert_eq!(
            parse_csv(text).unwrap(),
            vec![
                vec!["name", "email"],
                vec!["Wang, Fang", "a\"b@example.com"],
                vec!["two\nlines", "x"],
                vec!["last", ""],
            ]
        );
        assert_eq!(
            parse_csv("a,\"b\nc").unwrap_err(),
            "line 1: a quote is never closed"
        );
        assert_eq!(parse_csv("").unwrap(), Vec::<Vec<String>>::new());
    }

    #[test]
    fn headers_suggest_their_columns_in_english_chinese_and_the_accounts_fields() {
        let d = defs();
        let got: Vec<Column> = ["Name", "邮箱", "手机", "tier", "标签", "席位", "plan", "Notes"]
            .iter()
            .map(|h| Column::suggest(h, &d))
            .collect();
        assert_eq!(
            got,
            [
                Column::Name,
                Column::Email,
                Column::Phone,
                Column::Tier,
                Column::Tags,
                Column::Field("seats".into()),
                Column::Field("plan".into()),
                Column::Ignore
            ]
        );
        assert_eq!(Column::parse("field:plan", &d), Ok(Column::Field("plan".into())));
        assert!(Column::parse("field:nope", &d).is_err());
        assert_eq!(Column::parse("", &d), Ok(Column::Ignore));
    }

    #[test]
    fn a_row_becomes_a_candidate_or_says_why_not() {
        let d = defs();
        let columns = [
            Column::Name,
            Column::Email,
            Column::Phone,
            Column::Tags,
            Column::Field("seats".into()),
            Column::Field("products".into()),
            Column::Field("plan".into()),
        ];
        let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let ok = candidate(
            &row(&[
                "王芳",
                "wang@example.com",
                "'+8613800138000",
                "vip; 批发",
                "12",
                "Phones;Mail",
                "Pro",
            ]),
            &columns,
            &d,
        )
        .unwrap();
        assert_eq!(ok.name, "王芳");
        assert_eq!(
            ok.identities,
            [
                RawIdentity::Email("wang@example.com".into()),
                RawIdentity::Phone("+8613800138000".into())
            ]
        );
        assert_eq!(ok.tags, ["vip", "批发"]);
        assert_eq!(ok.fields["seats"], serde_json::json!(12.0));
        assert_eq!(ok.fields["products"], serde_json::json!(["Phones", "Mail"]));
        let cases: [(&[&str], &str); 4] = [
            (&["", "a@example.com"], "no name"),
            (&["Ann", "", ""], "no email or phone"),
            (&["Ann", "a@example.com", "", "", "many"], "席位"),
            (&["Ann", "a@example.com", "", "", "", "", "Gold"], "Plan"),
        ];
        for (cells, why) in cases {
            let err = candidate(&row(cells), &columns, &d).unwrap_err();
            assert!(err.contains(why), "{cells:?}: {err}");
        }
    }
}
