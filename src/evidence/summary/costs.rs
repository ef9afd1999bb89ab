//! Costs summed exactly, as decimals per currency, never as binary floats; and the calls
//! whose cost could not be added, counted.

/// Exact sums of decimal amounts, per currency, and how many calls used tokens without a cost
/// to add (a model with no price, or a cost that is not an amount): the sum leaves them out,
/// and says so.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Costs {
    amounts: Vec<(String, Amount)>,
    pub(super) unpriced: u64,
}

/// A decimal amount: `units / 10^scale`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Amount {
    units: i128,
    scale: u32,
}

impl Costs {
    /// Adds a cost string such as `"0.004750000 USD"`; returns `false` (and adds nothing) if it
    /// is not a decimal amount and a currency.
    pub fn add_text(&mut self, text: &str) -> bool {
        let Some((amount, currency)) = text.trim().split_once(' ') else {
            return false;
        };
        let Some(a) = parse_amount(amount) else {
            return false;
        };
        self.add(currency.trim(), a);
        true
    }

    fn add(&mut self, currency: &str, a: Amount) {
        match self.amounts.iter_mut().find(|(c, _)| c == currency) {
            Some((_, total)) => *total = total.plus(a),
            None => self.amounts.push((currency.to_owned(), a)),
        }
    }

    pub(super) fn merge(&mut self, other: &Self) {
        for (c, a) in &other.amounts {
            self.add(c, *a);
        }
        self.unpriced += other.unpriced;
    }

    /// Whether nothing was added, and no call went without a cost.
    pub fn is_empty(&self) -> bool {
        self.amounts.is_empty() && self.unpriced == 0
    }

    /// How many calls used tokens without a cost to add: left out of the sums.
    pub fn unpriced(&self) -> u64 {
        self.unpriced
    }
}

impl std::fmt::Display for Costs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (i, (currency, a)) in self.amounts.iter().enumerate() {
            if i > 0 {
                f.write_str(" + ")?;
            }
            write!(f, "{a} {currency}")?;
        }
        match (self.unpriced, self.amounts.is_empty()) {
            (0, _) => Ok(()),
            (n, true) => write!(f, "{n} unpriced"),
            (n, false) => write!(f, " + {n} unpriced"),
        }
    }
}

impl Amount {
    fn plus(self, other: Self) -> Self {
        let scale = self.scale.max(other.scale);
        let up = |a: Self| a.units.saturating_mul(10i128.pow(scale - a.scale));
        Self {
            units: up(self).saturating_add(up(other)),
            scale,
        }
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}

/// `12`, `0.004750000`, `-1.5`: at most 18 decimals.
fn parse_amount(s: &str) -> Option<Amount> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > 18 {
        return None;
    }
    let units: i128 = format!("{int}{frac}").parse().ok()?;
    Some(Amount {
        units: if neg { -units } else { units },
        scale: frac.len() as u32,
    })
}
