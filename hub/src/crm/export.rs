//! Customers as CSV for a spreadsheet (a supervisor's export of a search): one row per customer
//! with the account's own fields as columns. Pure. A cell a spreadsheet would run as a formula
//! (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is kept as text with a leading
//! `'`; every cell is quoted as RFC 4180 says when it needs to be.

use super::fields::FieldDef;
use crate::domain::Customer;

/// The CSV: a header row, then the customers in the order given; lines end in CRLF.
pub fn csv(customers: &[Customer], defs: &[FieldDef]) -> String {
    let mut out = String::new();
    let mut head = vec![
        "id".to_owned(),
        "name".into(),
        "email".into(),
        "phone".into(),
        "tier".into(),
    ];
    head.extend(["owner".into(), "tags".into(), "created".into()]);
    head.extend(defs.iter().map(|d| d.label.clone()));
    row(&mut out, &head);
    for c in customers {
        let created = jiff::Timestamp::from_millisecond(c.created_at)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let mut cells = vec![
            c.id.to_string(),
            c.name.clone(),
            c.email.clone().unwrap_or_default(),
            c.phone.clone().unwrap_or_default(),
            c.tier.clone().unwrap_or_default(),
            c.owner_name.clone().unwrap_or_default(),
            c.tags.join("; "),
            created,
        ];
        cells.extend(defs.iter().map(|d| value_text(c.fields.get(&d.key))));
        row(&mut out, &cells);
    }
    out
}

/// A field's value in words: a multi-choice's picks joined with "; ".
fn value_text(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

pub(crate) fn row(out: &mut String, cells: &[String]) {
    let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

pub(crate) fn cell(value: &str) -> String {
    let safe = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CustomerId;
    use serde_json::json;

    #[test]
    fn each_cell_is_quoted_when_it_must_be_and_no_formula_runs() {
        let cases = [
            ("plain", "plain"),
            ("Lee, Ann", "\"Lee, Ann\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""),
            ("+1 555", "'+1 555"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("王小明", "王小明"),
        ];
        for (value, expected) in cases {
            assert_eq!(cell(value), expected, "{value}");
        }
    }

    #[test]
    fn a_customer_is_a_row_with_the_accounts_fields_as_columns() {
        let defs: Vec<FieldDef> = serde_json::from_value(json!([
            {"key": "plan", "label": "Plan", "kind": "choice", "choices": ["Pro"]},
            {"key": "seats", "label": "Seats", "kind": "number"},
            {"key": "products", "label": "Products", "kind": "multi_choice", "choices": ["Phones", "Mail"]}
        ]))
        .unwrap();
        let mia = Customer {
            id: CustomerId::new(),
            name: "Mia Fischer".into(),
            email: Some("mia@example.net".into()),
            phone: Some("+4915112345678".into()),
            claimed: None,
            tier: Some("gold".into()),
            owner_id: None,
            owner_name: Some("Alice Wong".into()),
            home_owner_id: None,
            former_owner: None,
            tags: vec!["vip".into(), "beta".into()],
            fields: serde_json::from_value(
                json!({"plan": "Pro", "seats": 40, "products": ["Phones", "Mail"]}),
            )
            .unwrap(),
            stage: None,
            created_at: 1_764_512_400_000,
        };
        let text = csv(std::slice::from_ref(&mia), &defs);
        assert_eq!(
            text,
            format!(
                "id,name,email,phone,tier,owner,tags,created,Plan,Seats,Products\r\n\
                 {},Mia Fischer,mia@example.net,'+4915112345678,gold,Alice Wong,vip; beta,2025-11-30T14:20:00Z,Pro,40,Phones; Mail\r\n",
                mia.id
            )
        );
    }
}
