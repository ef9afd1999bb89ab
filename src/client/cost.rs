//! What a call cost, as an exact decimal string.
//!
//! Prices are kept in integer micro-dollars per million tokens, so a cost is an exact integer
//! number of 10⁻¹² dollars, written as a decimal string with its currency (`"0.00475 USD"`),
//! never a binary float.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::chain::Usage;

/// Per-million-token prices for one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    input: u64,
    cached_input: u64,
    cache_write: u64,
    output: u64,
}

/// The error returned for a price that is not a non-negative decimal with at most six
/// decimal places.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a price: {0:?} (a non-negative decimal with at most 6 decimal places)")]
pub struct PriceError(String);

/// `"2.50"` → 2_500_000 micro-dollars.
fn micros(text: &str) -> Result<u64, PriceError> {
    let bad = || PriceError(text.to_owned());
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty()
        || frac.len() > 6
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let int: u64 = int.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    int.checked_mul(1_000_000)
        .and_then(|i| i.checked_add(frac))
        .ok_or_else(bad)
}

impl Price {
    /// Prices in dollars per million tokens, as decimal text: prompt tokens, prompt tokens read
    /// from the provider's cache, prompt tokens written to it, and generated tokens.
    ///
    /// ```
    /// use acttrace::client::Price;
    ///
    /// let gpt_4o = Price::per_million("2.50", "1.25", "2.50", "10.00").unwrap();
    /// # let _ = gpt_4o;
    /// assert!(Price::per_million("0.1234567", "0", "0", "0").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`PriceError`] for text that is not such a decimal.
    pub fn per_million(
        input: &str,
        cached_input: &str,
        cache_write: &str,
        output: &str,
    ) -> Result<Self, PriceError> {
        Ok(Self {
            input: micros(input)?,
            cached_input: micros(cached_input)?,
            cache_write: micros(cache_write)?,
            output: micros(output)?,
        })
    }

    /// The bundled table's shorthand: dollars per million as (input, cached, cache write,
    /// output) in micro-dollars.
    const fn table(input: u64, cached_input: u64, cache_write: u64, output: u64) -> Self {
        Self {
            input,
            cached_input,
            cache_write,
            output,
        }
    }

    /// The cost of `usage` in 10⁻¹² dollars. Cached and cache-written prompt tokens are
    /// priced at their own rates and not again as plain input.
    fn cost_picos(self, usage: &Usage) -> u128 {
        let cached = usage.cached_tokens.min(usage.input_tokens);
        let written = usage.cache_write.min(usage.input_tokens - cached);
        let plain = usage.input_tokens - cached - written;
        u128::from(plain) * u128::from(self.input)
            + u128::from(cached) * u128::from(self.cached_input)
            + u128::from(written) * u128::from(self.cache_write)
            + u128::from(usage.output_tokens) * u128::from(self.output)
    }
}

/// Model prices, matched by the longest model-name prefix, in one currency.
///
/// The bundled table holds list prices of common models as published by their providers when
/// this crate was released (USD, standard tier, no batch or regional discounts). Prices change
/// and contracts differ: set your own with [`PriceTable::set`].
///
/// ```
/// use acttrace::chain::Usage;
/// use acttrace::client::{Price, PriceTable};
///
/// let table = PriceTable::bundled()
///     .set("my-finetune", Price::per_million("4", "4", "4", "16").unwrap());
/// let mut usage = Usage::new(1200, 300);
/// usage.cached_tokens = 1000;
/// assert_eq!(table.cost("gpt-4o-2024-08-06", &usage).as_deref(), Some("0.00475 USD"));
/// assert_eq!(table.cost("my-finetune-v2", &Usage::new(1000, 0)).as_deref(), Some("0.004 USD"));
/// assert_eq!(table.cost("unknown-model", &usage), None);
/// ```
#[derive(Debug, Clone)]
pub struct PriceTable {
    prices: Arc<BTreeMap<String, Price>>,
    currency: String,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self::bundled()
    }
}

/// (model prefix, input, cached input, cache write, output) in micro-dollars per million.
const BUNDLED: &[(&str, Price)] = &[
    (
        "gpt-4o",
        Price::table(2_500_000, 1_250_000, 2_500_000, 10_000_000),
    ),
    (
        "gpt-4o-mini",
        Price::table(150_000, 75_000, 150_000, 600_000),
    ),
    (
        "gpt-4.1",
        Price::table(2_000_000, 500_000, 2_000_000, 8_000_000),
    ),
    (
        "gpt-4.1-mini",
        Price::table(400_000, 100_000, 400_000, 1_600_000),
    ),
    (
        "gpt-4.1-nano",
        Price::table(100_000, 25_000, 100_000, 400_000),
    ),
    (
        "gpt-5",
        Price::table(1_250_000, 125_000, 1_250_000, 10_000_000),
    ),
    (
        "gpt-5-mini",
        Price::table(250_000, 25_000, 250_000, 2_000_000),
    ),
    ("gpt-5-nano", Price::table(50_000, 5_000, 50_000, 400_000)),
    (
        "o1",
        Price::table(15_000_000, 7_500_000, 15_000_000, 60_000_000),
    ),
    ("o3", Price::table(2_000_000, 500_000, 2_000_000, 8_000_000)),
    (
        "o3-mini",
        Price::table(1_100_000, 550_000, 1_100_000, 4_400_000),
    ),
    (
        "o4-mini",
        Price::table(1_100_000, 275_000, 1_100_000, 4_400_000),
    ),
    (
        "text-embedding-3-small",
        Price::table(20_000, 20_000, 20_000, 0),
    ),
    (
        "text-embedding-3-large",
        Price::table(130_000, 130_000, 130_000, 0),
    ),
    (
        "claude-opus-4",
        Price::table(15_000_000, 1_500_000, 18_750_000, 75_000_000),
    ),
    (
        "claude-sonnet-4",
        Price::table(3_000_000, 300_000, 3_750_000, 15_000_000),
    ),
    (
        "claude-3-7-sonnet",
        Price::table(3_000_000, 300_000, 3_750_000, 15_000_000),
    ),
    (
        "claude-3-5-sonnet",
        Price::table(3_000_000, 300_000, 3_750_000, 15_000_000),
    ),
    (
        "claude-haiku-4",
        Price::table(1_000_000, 100_000, 1_250_000, 5_000_000),
    ),
    (
        "claude-3-5-haiku",
        Price::table(800_000, 80_000, 1_000_000, 4_000_000),
    ),
    (
        "claude-3-haiku",
        Price::table(250_000, 30_000, 300_000, 1_250_000),
    ),
    (
        "gemini-2.5-pro",
        Price::table(1_250_000, 310_000, 1_250_000, 10_000_000),
    ),
    (
        "gemini-2.5-flash",
        Price::table(300_000, 75_000, 300_000, 2_500_000),
    ),
    (
        "gemini-2.5-flash-lite",
        Price::table(100_000, 25_000, 100_000, 400_000),
    ),
    (
        "gemini-2.0-flash",
        Price::table(100_000, 25_000, 100_000, 400_000),
    ),
    (
        "mistral-large",
        Price::table(2_000_000, 2_000_000, 2_000_000, 6_000_000),
    ),
    (
        "mistral-small",
        Price::table(100_000, 100_000, 100_000, 300_000),
    ),
    (
        "deepseek-chat",
        Price::table(270_000, 70_000, 270_000, 1_100_000),
    ),
    (
        "deepseek-reasoner",
        Price::table(550_000, 140_000, 550_000, 2_190_000),
    ),
    (
        "grok-3",
        Price::table(3_000_000, 750_000, 3_000_000, 15_000_000),
    ),
    (
        "grok-3-mini",
        Price::table(300_000, 75_000, 300_000, 500_000),
    ),
    (
        "llama-3.3-70b-versatile",
        Price::table(590_000, 590_000, 590_000, 790_000),
    ),
    (
        "nova-pro",
        Price::table(800_000, 200_000, 800_000, 3_200_000),
    ),
    ("nova-lite", Price::table(60_000, 15_000, 60_000, 240_000)),
    ("nova-micro", Price::table(35_000, 8_750, 35_000, 140_000)),
    (
        "command-a",
        Price::table(2_500_000, 2_500_000, 2_500_000, 10_000_000),
    ),
    (
        "command-r-plus",
        Price::table(2_500_000, 2_500_000, 2_500_000, 10_000_000),
    ),
    (
        "command-r",
        Price::table(150_000, 150_000, 150_000, 600_000),
    ),
    ("command-r7b", Price::table(37_500, 37_500, 37_500, 150_000)),
    ("embed-v4.0", Price::table(120_000, 120_000, 120_000, 0)),
    (
        "embed-english-v3.0",
        Price::table(100_000, 100_000, 100_000, 0),
    ),
    (
        "embed-multilingual-v3.0",
        Price::table(100_000, 100_000, 100_000, 0),
    ),
];

impl PriceTable {
    /// The bundled list prices, in USD.
    pub fn bundled() -> Self {
        Self {
            prices: Arc::new(BUNDLED.iter().map(|(m, p)| ((*m).to_owned(), *p)).collect()),
            currency: "USD".to_owned(),
        }
    }

    /// An empty table in `currency` (every call's cost then reads `null` until prices are set).
    pub fn empty(currency: &str) -> Self {
        Self {
            prices: Arc::new(BTreeMap::new()),
            currency: currency.to_owned(),
        }
    }

    /// Prices models whose names start with `model_prefix` (the longest matching prefix wins),
    /// replacing any price set for that prefix.
    pub fn set(mut self, model_prefix: &str, price: Price) -> Self {
        Arc::make_mut(&mut self.prices).insert(model_prefix.to_ascii_lowercase(), price);
        self
    }

    /// The price for `model`, if the table has one. Provider prefixes are ignored: OpenRouter's
    /// `anthropic/claude-…`, Bedrock's `us.anthropic.claude-…`, `models/gemini-…`.
    pub fn price(&self, model: &str) -> Option<Price> {
        let name = normalize(model);
        self.prices
            .iter()
            .filter(|(prefix, _)| name.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, price)| *price)
    }

    /// The cost of `usage` on `model`, e.g. `"0.00475 USD"`; `None` for an unpriced model.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<String> {
        let price = self.price(model)?;
        Some(format!(
            "{} {}",
            Picos(price.cost_picos(usage)),
            self.currency
        ))
    }
}

fn normalize(model: &str) -> String {
    let mut name = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    // Bedrock: `us.anthropic.claude-…`, `amazon.nova-pro-v1:0`.
    for region in ["us.", "eu.", "apac.", "global.", "us-gov."] {
        if let Some(rest) = name.strip_prefix(region) {
            name = rest.to_owned();
        }
    }
    for vendor in [
        "anthropic.",
        "amazon.",
        "meta.",
        "mistral.",
        "cohere.",
        "ai21.",
        "deepseek.",
    ] {
        if let Some(rest) = name.strip_prefix(vendor) {
            name = rest.to_owned();
        }
    }
    name
}

/// An amount in 10⁻¹² units, written as a decimal with no trailing zeros (at least one
/// decimal).
struct Picos(u128);

impl fmt::Display for Picos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / 1_000_000_000_000;
        let frac = format!("{:012}", self.0 % 1_000_000_000_000);
        let frac = frac.trim_end_matches('0');
        write!(f, "{int}.{}", if frac.is_empty() { "0" } else { frac })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(i: u64, o: u64, cached: u64, write: u64) -> Usage {
        Usage {
            input_tokens: i,
            output_tokens: o,
            cached_tokens: cached,
            reasoning_tokens: 0,
            cache_write: write,
        }
    }

    #[test]
    fn matches_the_reference_costs() {
        // valid/v_auto_events.jsonl: gpt-4o, 1200 in (1000 cached), 300 out: 0.004750000 USD.
        let t = PriceTable::bundled();
        assert_eq!(
            t.cost("gpt-4o", &usage(1200, 300, 1000, 0)).unwrap(),
            "0.00475 USD"
        );
        // gpt-4o-mini, 11 in, 2 out: 0.0000028500 USD.
        assert_eq!(
            t.cost("gpt-4o-mini", &usage(11, 2, 0, 0)).unwrap(),
            "0.00000285 USD"
        );
        // Anthropic with cache reads and writes: 50 plain + 2000 read + 300 written, 70 out.
        assert_eq!(
            t.cost("claude-sonnet-4-5", &usage(2350, 70, 2000, 300))
                .unwrap(),
            "0.002925 USD"
        );
    }

    #[test]
    fn longest_prefix_and_provider_prefixes() {
        let t = PriceTable::bundled();
        assert_eq!(t.price("gpt-4o-mini-2024-07-18"), t.price("gpt-4o-mini"));
        assert_ne!(t.price("gpt-4o-mini"), t.price("gpt-4o"));
        assert_eq!(t.price("openai/gpt-4o"), t.price("gpt-4o"));
        assert_eq!(
            t.price("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            t.price("claude-3-5-haiku")
        );
        assert_eq!(t.price("amazon.nova-pro-v1:0"), t.price("nova-pro"));
        assert_eq!(
            t.price("models/gemini-2.5-flash-lite"),
            t.price("gemini-2.5-flash-lite")
        );
        assert_ne!(
            t.price("gemini-2.5-flash-lite"),
            t.price("gemini-2.5-flash")
        );
        assert!(t.price("llama3-local-unpriced").is_none());
        // The longest prefix wins: Cohere's family shares its start.
        assert_ne!(t.price("command-r-plus-08-2024"), t.price("command-r"));
        assert_eq!(t.price("command-r-08-2024"), t.price("command-r"));
        assert_eq!(t.price("cohere.command-r-v1:0"), t.price("command-r"));
        assert_ne!(t.price("command-r7b-12-2024"), t.price("command-r"));
        assert!(t.price("").is_none());
    }

    #[test]
    fn exact_decimal_formatting() {
        assert_eq!(Picos(0).to_string(), "0.0");
        assert_eq!(Picos(1).to_string(), "0.000000000001");
        assert_eq!(Picos(12_500_000_000_000).to_string(), "12.5");
        assert_eq!(Picos(u128::MAX).to_string().split('.').count(), 2);
        assert_eq!(micros("2.5").unwrap(), 2_500_000);
        assert_eq!(micros("0.000001").unwrap(), 1);
        assert!(
            micros("1e3").is_err()
                && micros("-1").is_err()
                && micros(".5").is_err()
                && micros("").is_err()
        );
    }
}
