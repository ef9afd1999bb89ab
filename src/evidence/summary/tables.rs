//! The summary as text tables, as `acttrace show` and `stats` print them: every cell
//! [`printable`] and cut to [`MAX_CELL_CHARS`].

use std::borrow::Cow;

use super::{MAX_CELL_CHARS, Summary, printable};

impl Summary {
    /// The decisions as a text table, one line each (what `acttrace show` prints).
    pub fn decisions_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .decisions
            .iter()
            .map(|d| {
                let short = |s: &str, n: usize| s.chars().take(n).collect::<String>();
                vec![
                    short(&d.id, 12),
                    short(&d.opened, 19).replace('T', " "),
                    d.route.clone().unwrap_or_else(|| d.actor.clone()),
                    d.outcome.clone().unwrap_or_else(|| "-".to_owned()),
                    d.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    d.latency_ms
                        .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.0} ms")),
                    d.llm_calls.to_string(),
                    if d.llm_calls == 0 {
                        "-".to_owned()
                    } else {
                        format!("{}/{}", d.input_tokens, d.output_tokens)
                    },
                    d.cost(),
                    join_or_dash(d.oversight.iter().map(|(r, a)| format!("{a} by {r}"))),
                    join_or_dash(d.flags.iter().map(|(a, w)| format!("{a}: {w}"))),
                ]
            })
            .collect();
        table(
            &[
                "DECISION",
                "OPENED",
                "ROUTE",
                "OUTCOME",
                "STATUS",
                "LATENCY",
                "CALLS",
                "TOKENS",
                "COST",
                "OVERSIGHT",
                "FLAGS",
            ],
            &rows,
        )
    }

    /// One line of totals: decisions, entries (and, for a pack that starts after retention,
    /// how many came before them), total cost.
    pub fn totals(&self) -> String {
        let before = match self.deleted_before {
            0 => String::new(),
            n => format!(" (after {n} deleted under retention)"),
        };
        let line = format!(
            "{} decisions, {} entries{before}, total model cost {}",
            self.decisions.len(),
            self.entries,
            self.cost
        );
        printable(&line).into_owned()
    }

    /// The failed model calls as a text table (what `acttrace show` prints under the
    /// decisions, when there are any).
    pub fn failed_calls_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .failed_calls
            .iter()
            .map(|f| {
                vec![
                    f.decision
                        .as_deref()
                        .map_or_else(|| "-".to_owned(), |d| d.chars().take(12).collect()),
                    f.at.chars().take(19).collect::<String>().replace('T', " "),
                    format!("{} {}", f.provider, f.model),
                    f.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    f.error.clone(),
                    f.message.clone().unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        table(
            &["DECISION", "AT", "MODEL", "STATUS", "ERROR", "MESSAGE"],
            &rows,
        )
    }

    /// [`other_reviews`](Self::other_reviews) as a text table (what `acttrace show` prints
    /// under the decisions, when there are any).
    pub fn other_reviews_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .other_reviews
            .iter()
            .map(|r| {
                vec![
                    r.decision.chars().take(12).collect(),
                    r.at.chars().take(19).collect::<String>().replace('T', " "),
                    r.action.clone(),
                    r.reviewer.clone(),
                ]
            })
            .collect();
        table(&["DECISION", "AT", "ACTION", "REVIEWER"], &rows)
    }

    /// Model calls by provider and model as a text table (what `acttrace stats` prints).
    pub fn models_table(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .models
            .iter()
            .map(|m| {
                vec![
                    m.provider.clone(),
                    m.model.clone(),
                    m.calls.to_string(),
                    m.failed.to_string(),
                    m.input_tokens.to_string(),
                    m.output_tokens.to_string(),
                    m.cost.to_string(),
                ]
            })
            .collect();
        table(
            &[
                "PROVIDER", "MODEL", "CALLS", "FAILED", "INPUT", "OUTPUT", "COST",
            ],
            &rows,
        )
    }
}

fn join_or_dash(items: impl Iterator<Item = String>) -> String {
    let all: Vec<String> = items.collect();
    if all.is_empty() {
        "-".to_owned()
    } else {
        all.join("; ")
    }
}

/// A cell as a table shows it: [`printable`], at most [`MAX_CELL_CHARS`] characters.
fn cell(text: &str) -> Cow<'_, str> {
    let shown = printable(text);
    if shown.chars().count() <= MAX_CELL_CHARS {
        return shown;
    }
    let mut cut: String = shown.chars().take(MAX_CELL_CHARS - 1).collect();
    cut.push('…');
    Cow::Owned(cut)
}

/// Left-aligned columns, two spaces apart, a line each. Every cell is [`cell`]-safe, and the
/// padding is written out (a formatting width is limited to 65,535).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<Cow<'_, str>>> = rows
        .iter()
        .map(|row| row.iter().map(|c| cell(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (cell, w) in cells.zip(&widths) {
            text.push_str(cell);
            let pad = w.saturating_sub(cell.chars().count()) + 2;
            text.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in &rows {
        line(&mut row.iter().map(|c| c.as_ref()));
    }
    out
}
