//! The SVG chart of a simulation: four panels (supply, minted vs burned per epoch,
//! provider reward vs cost, token price vs equilibrium price). A compared scenario is
//! drawn on the same panels with dashed lines.

use plotters::prelude::*;

use super::engine::{EpochFigures, Simulation};
use crate::error::ClientError;

/// Chart size in pixels.
const SIZE: (u32, u32) = (1400, 960);

const SUPPLY: RGBColor = RGBColor(31, 119, 180);
const CIRCULATING: RGBColor = RGBColor(120, 170, 220);
const MINTED: RGBColor = RGBColor(44, 160, 44);
const BURNED: RGBColor = RGBColor(214, 39, 40);
const REWARD: RGBColor = RGBColor(148, 103, 189);
const COST: RGBColor = RGBColor(127, 127, 127);
const PRICE: RGBColor = RGBColor(40, 40, 40);
const EQUILIBRIUM: RGBColor = RGBColor(255, 127, 14);

/// One line: its runs of points (gaps where a value is undefined) and its look.
struct Line {
    label: String,
    color: RGBColor,
    dashed: bool,
    runs: Vec<Vec<(f64, f64)>>,
}

/// Where an x value comes from: years, or epochs for runs shorter than a year.
struct Axis {
    per_epoch: f64,
    label: &'static str,
    end: f64,
}

/// The chart of one simulation, or of two on the same panels.
pub fn render_svg(simulations: &[&Simulation]) -> Result<String, ClientError> {
    let first = simulations
        .first()
        .ok_or_else(|| ClientError::Input("nothing to chart".into()))?;
    let epochs = simulations
        .iter()
        .map(|s| s.figures.len())
        .max()
        .unwrap_or(0)
        .max(2) as f64;
    let per_year = first.epochs_per_year as f64;
    let axis = if epochs >= per_year {
        Axis {
            per_epoch: 1.0 / per_year,
            label: "years",
            end: (epochs - 1.0) / per_year,
        }
    } else {
        Axis {
            per_epoch: 1.0,
            label: "epoch",
            end: epochs - 1.0,
        }
    };
    let comparing = simulations.len() > 1;
    let lines = |label: &str,
                 color: RGBColor,
                 value: &dyn Fn(&Simulation, &EpochFigures) -> Option<f64>|
     -> Vec<Line> {
        simulations
            .iter()
            .enumerate()
            .map(|(index, simulation)| Line {
                label: if comparing {
                    format!("{label} ({})", simulation.name)
                } else {
                    label.to_string()
                },
                color,
                dashed: index > 0,
                runs: runs(simulation, &axis, |f| value(simulation, f)),
            })
            .collect()
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let (title, body) = root.split_vertically(44);
        let heading = if comparing {
            let names: Vec<&str> = simulations.iter().map(|s| s.name.as_str()).collect();
            format!(
                "bme simulate: {} (solid) vs {} (dashed)",
                names[0],
                names[1..].join(", ")
            )
        } else {
            format!("bme simulate: {}", first.name)
        };
        title
            .titled(&heading, ("sans-serif", 24).into_font().color(&BLACK))
            .map_err(chart_error)?;
        let panels = body.split_evenly((2, 2));

        let mut supply = lines("total supply", SUPPLY, &|s, f| Some(s.tokens(f.supply)));
        supply.extend(lines("circulating", CIRCULATING, &|s, f| {
            Some(s.tokens(f.circulating_supply))
        }));
        linear_panel(
            &panels[0],
            "Supply (tokens)",
            &axis,
            &supply,
            SeriesLabelPosition::UpperLeft,
            false,
        )?;

        let mut flows = lines("minted", MINTED, &|s, f| Some(s.tokens(f.minted)));
        flows.extend(lines("burned", BURNED, &|s, f| {
            Some(s.tokens(f.tokens_burned))
        }));
        linear_panel(
            &panels[1],
            "Minted vs burned per epoch (tokens)",
            &axis,
            &flows,
            SeriesLabelPosition::UpperRight,
            true,
        )?;

        let mut providers = lines("reward per provider", REWARD, &|_, f| {
            f.reward_per_provider_usd
        });
        providers.extend(lines("operating cost", COST, &|_, f| {
            (f.providers > 0).then_some(f.provider_cost_usd)
        }));
        linear_panel(
            &panels[2],
            "Provider reward vs cost (USD per provider per epoch)",
            &axis,
            &providers,
            SeriesLabelPosition::UpperRight,
            true,
        )?;

        let mut prices = lines("token price", PRICE, &|_, f| Some(f.token_price_usd));
        prices.extend(lines("BME equilibrium price", EQUILIBRIUM, &|_, f| {
            f.equilibrium_price_usd
        }));
        log_panel(
            &panels[3],
            "Token price vs BME equilibrium price (USD, log scale)",
            &axis,
            &prices,
        )?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The defined stretches of a series as chart points.
fn runs(
    simulation: &Simulation,
    axis: &Axis,
    value: impl Fn(&EpochFigures) -> Option<f64>,
) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for figures in &simulation.figures {
        match value(figures).filter(|v| v.is_finite()) {
            Some(v) => current.push((figures.epoch as f64 * axis.per_epoch, v)),
            None if !current.is_empty() => runs.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// The y extent of some lines.
fn extent(lines: &[Line], keep: impl Fn(f64) -> bool) -> Option<(f64, f64)> {
    lines
        .iter()
        .flat_map(|line| line.runs.iter().flatten())
        .map(|(_, y)| *y)
        .filter(|y| keep(*y))
        .fold(None, |range, y| match range {
            None => Some((y, y)),
            Some((low, high)) => Some((f64::min(low, y), f64::max(high, y))),
        })
}

/// A panel with a linear y axis starting at zero.
fn linear_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    axis: &Axis,
    lines: &[Line],
    legend: SeriesLabelPosition,
    from_zero: bool,
) -> Result<(), ClientError> {
    let (low, high) = extent(lines, |_| true).unwrap_or((0.0, 1.0));
    // Zoom on a series that never comes near zero (a supply moving by a few
    // percent), else start at zero; leave the top quarter for the legend.
    let low = if from_zero || low <= 0.5 * high {
        low.min(0.0)
    } else {
        low - 0.1 * (high - low)
    };
    let span = if high > low { high - low } else { 1.0 };
    let high = low + span * 1.3;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..axis.end.max(1e-9), low..high)
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc(axis.label)
        .x_label_formatter(&|x| compact(*x))
        .y_label_formatter(&|y| compact(*y))
        .light_line_style(RGBColor(238, 238, 238))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(chart_error)?;
    draw_lines(&mut chart, lines)?;
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

/// A panel with a logarithmic y axis (for prices spanning orders of magnitude).
fn log_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    caption: &str,
    axis: &Axis,
    lines: &[Line],
) -> Result<(), ClientError> {
    let (low, high) = extent(lines, |y| y > 0.0).unwrap_or((0.1, 10.0));
    // Half a value below, a decade above for the legend.
    let (low, high) = (low / 2.0, high * 10.0);
    let ticks = log_ticks(low, high);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            0.0..axis.end.max(1e-9),
            (low..high)
                .log_scale()
                .with_key_points(ticks)
                .with_light_points(Vec::new()),
        )
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .x_desc(axis.label)
        .x_label_formatter(&|x| compact(*x))
        .y_label_formatter(&|y| compact(*y))
        .light_line_style(RGBColor(238, 238, 238))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(chart_error)?;
    let positive: Vec<Line> = lines
        .iter()
        .map(|line| Line {
            label: line.label.clone(),
            color: line.color,
            dashed: line.dashed,
            runs: line
                .runs
                .iter()
                .map(|run| run.iter().copied().filter(|(_, y)| *y > 0.0).collect())
                .collect(),
        })
        .collect();
    draw_lines(&mut chart, &positive)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

/// Draws lines on any chart whose x and y are `f64`.
fn draw_lines<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    lines: &[Line],
) -> Result<(), ClientError>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for line in lines {
        let style = line.color.stroke_width(2);
        for (index, run) in line.runs.iter().enumerate() {
            let annotation = if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(run.iter().copied(), 8, 5, style))
                    .map_err(chart_error)?
            } else {
                chart
                    .draw_series(LineSeries::new(run.iter().copied(), style))
                    .map_err(chart_error)?
            };
            if index == 0 {
                let dashed = line.dashed;
                annotation.label(line.label.clone()).legend(move |(x, y)| {
                    // Two strokes with a gap for a dashed line, one for a solid one.
                    let gap = if dashed { (8, 12) } else { (9, 9) };
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (gap.0, 0)], style)
                        + PathElement::new(vec![(gap.1, 0), (20, 0)], style)
                });
            }
        }
    }
    Ok(())
}

/// Round ticks for a logarithmic axis over `low..high`: 1, 2 and 5 times each power
/// of ten, or only the powers when the range spans more than three decades.
fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let first = low.log10().floor() as i32;
    let last = high.log10().ceil() as i32;
    let steps: &[f64] = if last - first > 3 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    (first..=last)
        .flat_map(|power| steps.iter().map(move |step| step * 10f64.powi(power)))
        .filter(|tick| (low..=high).contains(tick))
        .collect()
}

/// `1_250_000` → `1.25M`.
fn compact(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e12 {
        (value / 1e12, "T")
    } else if magnitude >= 1e9 {
        (value / 1e9, "B")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.abs() >= 100.0 || scaled == scaled.trunc() {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        trim(format!("{scaled:.1}"))
    } else if scaled.abs() >= 0.01 {
        trim(format!("{scaled:.2}"))
    } else {
        format!("{scaled:.1e}")
    };
    format!("{text}{suffix}")
}

/// Drops the trailing zeros of a decimal: `2.50` → `2.5`.
fn trim(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A plotting failure.
fn chart_error(error: impl std::fmt::Display) -> ClientError {
    ClientError::Input(format!("chart: {error}"))
}
