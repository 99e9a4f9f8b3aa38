//! What `bme simulate` prints and writes: the summary (text or JSON), the side-by-side
//! comparison of two scenarios, and the per-epoch CSV.

use std::fmt::Write as _;

use serde::Serialize;

use super::engine::{Asymptote, EpochFigures, Simulation};

/// Years of epochs after which the summary reports the supply.
pub const SUPPLY_MARKS_YEARS: [u64; 3] = [1, 5, 10];

/// The headline figures of one simulation (token amounts in whole tokens).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The scenario's label.
    pub scenario: String,
    /// Epochs simulated.
    pub epochs: u64,
    /// Epoch length, seconds.
    pub epoch_length_secs: u64,
    /// Epochs in a 365-day year.
    pub epochs_per_year: u64,
    /// Supply before epoch 0.
    pub initial_supply: f64,
    /// Supply after 1, 5 and 10 years of epochs (none past the horizon).
    pub supply_after: Vec<SupplyMark>,
    /// Supply after the last epoch.
    pub final_supply: f64,
    /// Where the supply heads if the last epoch's conditions persist.
    pub asymptotic_supply: Option<AsymptoteSummary>,
    /// First epoch whose burns exceed what it minted (net supply decrease).
    pub first_epoch_burns_exceed_emission: Option<u64>,
    /// Tokens minted over the run (treasury + rewards).
    pub total_minted: f64,
    /// Tokens burned for credits over the run.
    pub total_burned: f64,
    /// Burned tokens re-minted over the run.
    pub total_remint: f64,
    /// Emission not minted over the run (pools without units, supply-cap clamp).
    pub total_not_emitted: f64,
    /// Burns ÷ mints in the last epoch.
    pub final_burn_emission_ratio: Option<f64>,
    /// BME equilibrium price in the last epoch, USD.
    pub final_equilibrium_price_usd: Option<f64>,
    /// Token price in the last epoch, USD.
    pub final_token_price_usd: f64,
    /// Reward of one provider in the last epoch, USD.
    pub final_reward_per_provider_usd: Option<f64>,
    /// Reward minus cost of one provider in the last epoch, USD.
    pub final_provider_margin_usd: Option<f64>,
    /// Milliseconds the projection took.
    pub compute_ms: f64,
}

/// The supply after a number of years of epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SupplyMark {
    /// Years of epochs.
    pub years: u64,
    /// Epochs that many years hold.
    pub epochs: u64,
    /// Supply after them (none past the horizon).
    pub supply: Option<f64>,
}

/// [`Asymptote`] in whole tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AsymptoteSummary {
    /// The supply converges to `supply`.
    Converges {
        /// The limit.
        supply: f64,
    },
    /// The supply grows until the cap.
    ReachesCap {
        /// The cap.
        cap: f64,
        /// Net growth per epoch at the tail.
        growth_per_epoch: f64,
        /// Years after the horizon until the cap binds.
        years_to_cap: f64,
    },
    /// The supply keeps falling.
    Shrinks {
        /// Net decline per epoch at the tail.
        decline_per_epoch: f64,
    },
}

impl AsymptoteSummary {
    /// The supply this asymptote names, if it names one.
    pub fn supply(&self) -> Option<f64> {
        match self {
            AsymptoteSummary::Converges { supply } => Some(*supply),
            AsymptoteSummary::ReachesCap { cap, .. } => Some(*cap),
            AsymptoteSummary::Shrinks { .. } => None,
        }
    }
}

/// One compared figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// What is compared.
    pub figure: &'static str,
    /// The first scenario's value.
    pub a: Option<f64>,
    /// The second scenario's value.
    pub b: Option<f64>,
    /// `b − a` when both exist.
    pub difference: Option<f64>,
}

/// Largest per-epoch differences between two runs, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochDifferences {
    /// Epochs compared (the shorter run).
    pub epochs: u64,
    /// Largest |b − a| of the supply.
    pub supply: f64,
    /// Largest |b − a| of the tokens minted.
    pub minted: f64,
    /// Largest |b − a| of the tokens burned.
    pub burned: f64,
    /// Largest |b − a| of the emission not minted.
    pub not_emitted: f64,
}

/// The headline figures of `simulation`.
pub fn summarize(simulation: &Simulation) -> Summary {
    let figures = &simulation.figures;
    let tokens = |amount: u64| simulation.tokens(amount);
    let total = |field: fn(&EpochFigures) -> u64| {
        tokens(figures.iter().map(field).fold(0u64, u64::saturating_add))
    };
    let per_year = simulation.epochs_per_year;
    let last = figures.last();
    Summary {
        scenario: simulation.name.clone(),
        epochs: figures.len() as u64,
        epoch_length_secs: simulation.epoch_length_secs,
        epochs_per_year: per_year,
        initial_supply: tokens(simulation.initial_supply),
        supply_after: SUPPLY_MARKS_YEARS
            .iter()
            .map(|&years| {
                let epochs = years.saturating_mul(per_year);
                let index = usize::try_from(epochs).ok().and_then(|n| n.checked_sub(1));
                SupplyMark {
                    years,
                    epochs,
                    supply: index.and_then(|i| figures.get(i)).map(|f| tokens(f.supply)),
                }
            })
            .collect(),
        final_supply: tokens(simulation.final_supply()),
        asymptotic_supply: simulation.asymptote.map(|a| match a {
            Asymptote::Converges { supply } => AsymptoteSummary::Converges {
                supply: tokens(supply),
            },
            Asymptote::ReachesCap {
                cap,
                growth_per_epoch,
                years_to_cap,
            } => AsymptoteSummary::ReachesCap {
                cap: tokens(cap),
                growth_per_epoch: tokens(growth_per_epoch),
                years_to_cap,
            },
            Asymptote::Shrinks { decline_per_epoch } => AsymptoteSummary::Shrinks {
                decline_per_epoch: tokens(decline_per_epoch),
            },
        }),
        first_epoch_burns_exceed_emission: figures
            .iter()
            .find(|f| f.tokens_burned > f.minted)
            .map(|f| f.epoch),
        total_minted: total(|f| f.minted),
        total_burned: total(|f| f.tokens_burned),
        total_remint: total(|f| f.remint),
        total_not_emitted: total(|f| f.not_emitted),
        final_burn_emission_ratio: last.and_then(|f| f.burn_emission_ratio),
        final_equilibrium_price_usd: last.and_then(|f| f.equilibrium_price_usd),
        final_token_price_usd: last.map_or(0.0, |f| f.token_price_usd),
        final_reward_per_provider_usd: last.and_then(|f| f.reward_per_provider_usd),
        final_provider_margin_usd: last.and_then(|f| f.provider_margin_usd),
        compute_ms: simulation.compute.as_secs_f64() * 1_000.0,
    }
}

/// A compared figure: label, how to read it, how to print it.
struct Figure {
    label: &'static str,
    value: fn(&Summary) -> Option<f64>,
    kind: Kind,
}

/// How a figure prints.
#[derive(Clone, Copy)]
enum Kind {
    Tokens,
    Usd,
    Ratio,
    Epoch,
}

/// The figures the summary shows, in order (the supply marks and the asymptote are
/// printed separately).
fn figures() -> [Figure; 11] {
    [
        Figure {
            label: "final supply",
            value: |s| Some(s.final_supply),
            kind: Kind::Tokens,
        },
        Figure {
            label: "first epoch burns > emission",
            value: |s| s.first_epoch_burns_exceed_emission.map(|e| e as f64),
            kind: Kind::Epoch,
        },
        Figure {
            label: "total minted",
            value: |s| Some(s.total_minted),
            kind: Kind::Tokens,
        },
        Figure {
            label: "total burned",
            value: |s| Some(s.total_burned),
            kind: Kind::Tokens,
        },
        Figure {
            label: "total re-minted",
            value: |s| Some(s.total_remint),
            kind: Kind::Tokens,
        },
        Figure {
            label: "total not emitted",
            value: |s| Some(s.total_not_emitted),
            kind: Kind::Tokens,
        },
        Figure {
            label: "last epoch burn/emission",
            value: |s| s.final_burn_emission_ratio,
            kind: Kind::Ratio,
        },
        Figure {
            label: "last epoch token price",
            value: |s| Some(s.final_token_price_usd),
            kind: Kind::Usd,
        },
        Figure {
            label: "last epoch equilibrium price",
            value: |s| s.final_equilibrium_price_usd,
            kind: Kind::Usd,
        },
        Figure {
            label: "last epoch reward/provider",
            value: |s| s.final_reward_per_provider_usd,
            kind: Kind::Usd,
        },
        Figure {
            label: "last epoch provider margin",
            value: |s| s.final_provider_margin_usd,
            kind: Kind::Usd,
        },
    ]
}

/// Every compared figure of two summaries, `b − a`.
pub fn differences(a: &Summary, b: &Summary) -> Vec<Difference> {
    let mut rows = Vec::new();
    let mut push = |figure: &'static str, x: Option<f64>, y: Option<f64>| {
        let difference = match (x, y) {
            (Some(x), Some(y)) => Some(y - x),
            _ => None,
        };
        rows.push(Difference {
            figure,
            a: x,
            b: y,
            difference,
        });
    };
    push(
        "initial supply",
        Some(a.initial_supply),
        Some(b.initial_supply),
    );
    for (index, label) in [
        "supply after 1 year",
        "supply after 5 years",
        "supply after 10 years",
    ]
    .into_iter()
    .enumerate()
    {
        let mark = |s: &Summary| s.supply_after.get(index).and_then(|m| m.supply);
        push(label, mark(a), mark(b));
    }
    let asymptote = |s: &Summary| s.asymptotic_supply.and_then(|x| x.supply());
    push("asymptotic supply", asymptote(a), asymptote(b));
    for figure in figures() {
        push(figure.label, (figure.value)(a), (figure.value)(b));
    }
    rows
}

/// Largest per-epoch differences over the epochs both runs have.
pub fn epoch_differences(a: &Simulation, b: &Simulation) -> EpochDifferences {
    let mut out = EpochDifferences {
        epochs: a.figures.len().min(b.figures.len()) as u64,
        supply: 0.0,
        minted: 0.0,
        burned: 0.0,
        not_emitted: 0.0,
    };
    for (x, y) in a.figures.iter().zip(&b.figures) {
        let gap = |p: u64, q: u64| (a.tokens(p) - b.tokens(q)).abs();
        out.supply = out.supply.max(gap(x.supply, y.supply));
        out.minted = out.minted.max(gap(x.minted, y.minted));
        out.burned = out.burned.max(gap(x.tokens_burned, y.tokens_burned));
        out.not_emitted = out.not_emitted.max(gap(x.not_emitted, y.not_emitted));
    }
    out
}

/// The summary as text: one column per scenario, plus `B − A` when comparing.
pub fn render_text(summaries: &[&Summary], epoch_gaps: Option<&EpochDifferences>) -> String {
    let mut out = String::new();
    let Some(first) = summaries.first() else {
        return out;
    };
    let _ = writeln!(
        out,
        "{} epochs of {} ({} a year)",
        first.epochs,
        duration(first.epoch_length_secs),
        first.epochs_per_year
    );
    let label_width = 30;
    let column = 20;
    let comparing = summaries.len() == 2;
    let _ = write!(out, "{:label_width$}", "");
    for summary in summaries {
        let _ = write!(out, " {:>column$}", truncate(&summary.scenario, column));
    }
    if comparing {
        let _ = write!(out, " {:>column$}", "B − A");
    }
    out.push('\n');

    let mut row = |label: &str, cells: Vec<String>, difference: Option<String>| {
        let _ = write!(out, "{label:label_width$}");
        for cell in cells {
            let _ = write!(out, " {cell:>column$}");
        }
        if let Some(difference) = difference {
            let _ = write!(out, " {difference:>column$}");
        }
        out.push('\n');
    };
    let delta = |a: Option<f64>, b: Option<f64>, kind: Kind| -> Option<String> {
        if !comparing {
            return None;
        }
        Some(match (a, b) {
            (Some(a), Some(b)) => signed(b - a, kind),
            (None, None) => "=".into(),
            _ => "≠".into(),
        })
    };

    let cells = |value: &dyn Fn(&Summary) -> Option<f64>, kind: Kind| -> Vec<String> {
        summaries.iter().map(|s| show(value(s), kind)).collect()
    };
    let pair = |value: &dyn Fn(&Summary) -> Option<f64>| -> (Option<f64>, Option<f64>) {
        (value(summaries[0]), summaries.get(1).and_then(|s| value(s)))
    };

    let initial = |s: &Summary| Some(s.initial_supply);
    let (a, b) = pair(&initial);
    row(
        "initial supply",
        cells(&initial, Kind::Tokens),
        delta(a, b, Kind::Tokens),
    );
    for (index, years) in SUPPLY_MARKS_YEARS.iter().enumerate() {
        let mark = move |s: &Summary| s.supply_after.get(index).and_then(|m| m.supply);
        let label = format!(
            "supply after {years} year{}",
            if *years == 1 { "" } else { "s" }
        );
        let (a, b) = pair(&mark);
        row(
            &label,
            cells(&mark, Kind::Tokens),
            delta(a, b, Kind::Tokens),
        );
    }
    let asymptote_cells: Vec<String> = summaries
        .iter()
        .map(|s| asymptote_text(s.asymptotic_supply))
        .collect();
    let asymptote = |s: &Summary| s.asymptotic_supply.and_then(|x| x.supply());
    let (a, b) = pair(&asymptote);
    row(
        "asymptotic supply",
        asymptote_cells,
        delta(a, b, Kind::Tokens),
    );
    for figure in figures() {
        let value = figure.value;
        let (a, b) = pair(&value);
        row(
            figure.label,
            cells(&value, figure.kind),
            delta(a, b, figure.kind),
        );
    }
    for summary in summaries {
        if let Some(note) = summary.asymptotic_supply.and_then(asymptote_note) {
            let _ = writeln!(out, "{}: {note}", summary.scenario);
        }
    }
    if let Some(gaps) = epoch_gaps {
        let _ = writeln!(
            out,
            "largest per-epoch differences over {} epochs: supply {}, minted {}, burned {}, not emitted {}",
            gaps.epochs,
            group(gaps.supply, 2),
            group(gaps.minted, 2),
            group(gaps.burned, 2),
            group(gaps.not_emitted, 2)
        );
    }
    out
}

/// The asymptote cell: its supply and kind.
fn asymptote_text(asymptote: Option<AsymptoteSummary>) -> String {
    match asymptote {
        None => "-".into(),
        Some(AsymptoteSummary::Converges { supply }) => group(supply, 2),
        Some(AsymptoteSummary::ReachesCap { cap, .. }) => format!("cap {}", group(cap, 0)),
        Some(AsymptoteSummary::Shrinks { .. }) => "none (shrinks)".into(),
    }
}

/// A line explaining a non-converging asymptote.
fn asymptote_note(asymptote: AsymptoteSummary) -> Option<String> {
    match asymptote {
        AsymptoteSummary::Converges { .. } => None,
        AsymptoteSummary::ReachesCap {
            growth_per_epoch,
            years_to_cap,
            ..
        } => Some(format!(
            "the tail emission outgrows burns by {} tokens an epoch; the supply cap binds after ~{} more years",
            group(growth_per_epoch, 2),
            group(years_to_cap, 0)
        )),
        AsymptoteSummary::Shrinks { decline_per_epoch } => Some(format!(
            "burns outgrow the tail emission by {} tokens an epoch at the last price: net deflationary",
            group(decline_per_epoch, 2)
        )),
    }
}

/// A value as the summary shows it.
fn show(value: Option<f64>, kind: Kind) -> String {
    match value {
        None if matches!(kind, Kind::Epoch) => "none".into(),
        None => "-".into(),
        Some(v) => match kind {
            Kind::Tokens => group(v, 2),
            Kind::Usd => usd(v),
            Kind::Ratio => format!("{v:.4}"),
            Kind::Epoch => group(v, 0),
        },
    }
}

/// A difference with its sign.
fn signed(value: f64, kind: Kind) -> String {
    let text = show(Some(value.abs()), kind);
    if value > 0.0 {
        format!("+{text}")
    } else if value < 0.0 {
        format!("-{text}")
    } else {
        text
    }
}

/// USD with precision that suits its size.
fn usd(value: f64) -> String {
    let magnitude = value.abs();
    let body = if magnitude >= 1_000.0 {
        group(magnitude, 0)
    } else if magnitude >= 1.0 || magnitude == 0.0 {
        format!("{magnitude:.2}")
    } else {
        format!("{magnitude:.4}")
    };
    if value < 0.0 {
        format!("-${body}")
    } else {
        format!("${body}")
    }
}

/// `1234567.891` → `1,234,567.89` with `decimals` decimals.
pub fn group(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_str(), None),
    };
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if let Some(fraction) = fraction {
        grouped.push('.');
        grouped.push_str(fraction);
    }
    if value < 0.0 && grouped.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// "1 day", "6 hours", "3600 s".
fn duration(secs: u64) -> String {
    match secs {
        86_400 => "1 day".into(),
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        3_600 => "1 hour".into(),
        s if s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s => format!("{s} s"),
    }
}

/// At most `width` characters.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// The CSV header.
pub const CSV_HEADER: &str = "epoch,year,demand_usd,token_price_usd,providers,credits_bought,unmet_demand_usd,tokens_burned,scheduled_emission,remint,emission,usage_pool,contribution_pool,treasury,not_emitted,minted,net_supply_change,supply,circulating_supply,burn_emission_ratio,equilibrium_price_usd,reward_per_provider_tokens,reward_per_provider_usd,provider_cost_usd,provider_margin_usd";

/// Every epoch's figures as CSV; token amounts are exact decimals of base units.
pub fn render_csv(simulation: &Simulation) -> String {
    let decimals = usize::from(simulation.decimals);
    let amount = |base: u64| exact(u128::from(base), decimals);
    let optional = |value: Option<f64>| value.map(|v| format!("{v}")).unwrap_or_default();
    let mut out = String::with_capacity(simulation.figures.len() * 260 + CSV_HEADER.len());
    out.push_str(CSV_HEADER);
    out.push('\n');
    for f in &simulation.figures {
        let net = if f.net_supply_change < 0 {
            format!(
                "-{}",
                exact(u128::from(f.net_supply_change.unsigned_abs()), decimals)
            )
        } else {
            exact(u128::from(f.net_supply_change.unsigned_abs()), decimals)
        };
        let _ = writeln!(
            out,
            "{},{:.4},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            f.epoch,
            f.epoch as f64 / simulation.epochs_per_year as f64,
            f.demand_usd,
            f.token_price_usd,
            f.providers,
            f.credits_bought,
            f.unmet_demand_usd,
            amount(f.tokens_burned),
            amount(f.scheduled_emission),
            amount(f.remint),
            amount(f.emission),
            amount(f.usage_pool),
            amount(f.contribution_pool),
            amount(f.treasury),
            amount(f.not_emitted),
            amount(f.minted),
            net,
            amount(f.supply),
            amount(f.circulating_supply),
            optional(f.burn_emission_ratio),
            optional(f.equilibrium_price_usd),
            amount(f.reward_per_provider),
            optional(f.reward_per_provider_usd),
            f.provider_cost_usd,
            optional(f.provider_margin_usd),
        );
    }
    out
}

/// Base units as an exact decimal number of tokens.
fn exact(base: u128, decimals: usize) -> String {
    if decimals == 0 {
        return base.to_string();
    }
    let scale = 10u128.pow(u32::try_from(decimals).unwrap_or(38).min(38));
    format!(
        "{}.{:0width$}",
        base / scale,
        base % scale,
        width = decimals
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_grouped_and_exact() {
        assert_eq!(group(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(group(-1_000.0, 0), "-1,000");
        assert_eq!(group(999.0, 0), "999");
        assert_eq!(group(-0.001, 2), "0.00");
        assert_eq!(exact(1_460_000_000_001, 6), "1460000.000001");
        assert_eq!(exact(5, 0), "5");
        assert_eq!(usd(-2.5), "-$2.50");
        assert_eq!(usd(0.12345), "$0.1235");
        assert_eq!(usd(12_345.6), "$12,346");
    }
}
