//! Scenario files: strict parsing, validation and the time series they describe.
//!
//! The format is documented in the [module docs](super). Parsing is strict: unknown
//! keys, wrong types, missing required keys, keys the chosen model does not use and
//! out-of-range values are all errors, each one line naming the file and the dotted
//! field (`demand.growth_per_year: …`).

use std::path::Path;

use bme::math::{rewards, schedule};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::config::{GenesisConfig, PriceConfig};
use crate::error::ClientError;

/// Seconds in a 365-day year: "a year of epochs" is this many seconds of epochs.
pub const SECONDS_PER_YEAR: u64 = 365 * 86_400;

/// Years simulated when neither the scenario nor `--epochs` says how many epochs.
pub const DEFAULT_YEARS: u64 = 10;

/// A parsed and validated scenario, ready to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Label in summaries, CSV names and chart legends (`name`, else the file stem).
    pub name: String,
    /// The protocol parameters, exactly as `bme init` would read them.
    pub genesis: GenesisConfig,
    /// Decimals of the network token.
    pub decimals: u8,
    /// Epochs to simulate unless `--epochs` overrides it.
    pub epochs: u64,
    /// USD spent on credits per epoch.
    pub demand: Series,
    /// USD price of one whole token.
    pub token_price: Series,
    /// Number of providers sharing the pools.
    pub providers: Series,
    /// Operating cost of one provider per epoch, in USD.
    pub provider_cost_usd: f64,
}

/// How a series evolves between its data points.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesModel {
    /// The same value every epoch.
    Constant {
        /// The value.
        start: f64,
    },
    /// `start + increase_per_year × years` (never below 0).
    Linear {
        /// Value at epoch 0.
        start: f64,
        /// Added per year of epochs (may be negative).
        increase_per_year: f64,
    },
    /// `start × (1 + growth_per_year)^years`, compounding every epoch.
    Growth {
        /// Value at epoch 0.
        start: f64,
        /// Yearly growth rate (0.5 = +50% a year; above −1).
        growth_per_year: f64,
    },
    /// Values read from a CSV file: each row holds from its epoch until the next row,
    /// the last row forever.
    Table {
        /// `(epoch, value)` rows, strictly increasing epochs, the first at epoch 0.
        rows: Vec<(u64, f64)>,
    },
}

/// A one-off multiplication of a parametric series from an epoch on.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shock {
    /// First epoch the shock applies to.
    pub epoch: u64,
    /// The series is multiplied by this (0.4 = a 60% crash, 2 = doubles).
    pub factor: f64,
    /// 0 = permanent; otherwise the effect fades geometrically back to none over
    /// this many epochs.
    #[serde(default)]
    pub recovery_epochs: u64,
}

/// A time series over epochs: a model and its shocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The base path.
    pub model: SeriesModel,
    /// Shocks applied on top (parametric models only).
    pub shocks: Vec<Shock>,
}

impl Series {
    /// The series' value at `epoch`, with `epochs_per_year` epochs in a year.
    pub fn value_at(&self, epoch: u64, epochs_per_year: f64) -> f64 {
        let years = epoch as f64 / epochs_per_year;
        let base = match &self.model {
            SeriesModel::Constant { start } => *start,
            SeriesModel::Linear {
                start,
                increase_per_year,
            } => (start + increase_per_year * years).max(0.0),
            SeriesModel::Growth {
                start,
                growth_per_year,
            } => start * (1.0 + growth_per_year).powf(years),
            SeriesModel::Table { rows } => {
                // Rows are sorted and start at epoch 0, so there is always one at or
                // before `epoch`.
                let after = rows.partition_point(|(row_epoch, _)| *row_epoch <= epoch);
                rows[after.saturating_sub(1)].1
            }
        };
        self.shocks
            .iter()
            .fold(base, |value, shock| value * shock.multiplier(epoch))
    }

    /// A series that is `value` every epoch.
    pub fn constant(value: f64) -> Self {
        Series {
            model: SeriesModel::Constant { start: value },
            shocks: Vec::new(),
        }
    }
}

impl Shock {
    /// The factor this shock applies at `epoch`.
    fn multiplier(&self, epoch: u64) -> f64 {
        if epoch < self.epoch {
            return 1.0;
        }
        if self.recovery_epochs == 0 {
            return self.factor;
        }
        let elapsed = (epoch - self.epoch) as f64 / self.recovery_epochs as f64;
        self.factor.powf((1.0 - elapsed).max(0.0))
    }
}

/// Model names of a series. `compound` is another name for `growth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Model {
    Constant,
    Linear,
    #[serde(alias = "compound")]
    Growth,
    Csv,
}

/// `[demand]`: USD spent on credits per epoch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemandFile {
    model: Model,
    usd_per_epoch: Option<f64>,
    increase_per_year: Option<f64>,
    growth_per_year: Option<f64>,
    file: Option<String>,
    column: Option<String>,
    #[serde(default)]
    shocks: Vec<Shock>,
}

/// `[token_price]`: USD per whole token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    model: Model,
    usd: Option<f64>,
    increase_per_year: Option<f64>,
    growth_per_year: Option<f64>,
    file: Option<String>,
    column: Option<String>,
    #[serde(default)]
    shocks: Vec<Shock>,
}

/// `[providers]`: how many, and what one costs to run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvidersFile {
    model: Model,
    count: Option<f64>,
    increase_per_year: Option<f64>,
    growth_per_year: Option<f64>,
    file: Option<String>,
    column: Option<String>,
    #[serde(default)]
    shocks: Vec<Shock>,
    cost_usd_per_epoch: f64,
}

/// The whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: Option<String>,
    epochs: Option<u64>,
    genesis_file: Option<String>,
    genesis: Option<GenesisConfig>,
    demand: DemandFile,
    token_price: Option<PriceFile>,
    providers: ProvidersFile,
}

/// The fields of any series section, once its section-specific names are read.
struct RawSeries<'a> {
    section: &'a str,
    start_key: &'a str,
    model: Model,
    start: Option<f64>,
    increase_per_year: Option<f64>,
    growth_per_year: Option<f64>,
    file: Option<String>,
    column: Option<String>,
    shocks: Vec<Shock>,
}

impl Scenario {
    /// Reads a scenario file. A bare genesis file (one with a top-level `[token]`
    /// table) is accepted too: it simulates the schedule alone, with no demand, one
    /// provider at no cost and the genesis' fixed price.
    pub fn load(path: &Path) -> Result<Self, ClientError> {
        let text = read(path)?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".into());
        Self::parse(&text, base, &stem).map_err(|e| in_file(path, e))
    }

    /// Parses scenario text; relative paths (`genesis_file`, CSV `file`s) are
    /// resolved against `base`, and `default_name` labels it unless it sets `name`.
    pub fn parse(text: &str, base: &Path, default_name: &str) -> Result<Self, ClientError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ClientError::Input(describe(text, "", &e)))?;
        let bare_genesis = table.contains_key("token")
            && !table.contains_key("genesis")
            && !table.contains_key("genesis_file");
        if bare_genesis {
            let genesis: GenesisConfig = parse_strict(text)?;
            return Self::from_genesis(genesis, default_name, "");
        }
        let file: ScenarioFile = parse_strict(text)?;
        let (genesis, prefix) = match (file.genesis, file.genesis_file) {
            (Some(genesis), None) => (genesis, "genesis.".to_string()),
            (None, Some(relative)) => {
                let path = base.join(&relative);
                let text = read(&path).map_err(|e| field_error("genesis_file", e))?;
                let genesis: GenesisConfig = parse_strict(&text).map_err(|e| in_file(&path, e))?;
                validate_genesis(&genesis, "").map_err(|e| in_file(&path, e))?;
                (genesis, "genesis.".to_string())
            }
            (Some(_), Some(_)) => {
                return Err(input(
                    "genesis",
                    "give either a [genesis] table or genesis_file, not both",
                ))
            }
            (None, None) => {
                return Err(input(
                    "genesis",
                    "missing: add genesis_file = \"<genesis.toml>\" or a [genesis] table",
                ))
            }
        };
        let mut scenario = Self::from_genesis(genesis, default_name, &prefix)?;
        if let Some(name) = file.name {
            if name.trim().is_empty() {
                return Err(input("name", "must not be empty"));
            }
            scenario.name = name;
        }
        if let Some(epochs) = file.epochs {
            if epochs == 0 {
                return Err(input("epochs", "must be at least 1"));
            }
            scenario.epochs = epochs;
        }
        let d = file.demand;
        scenario.demand = series(
            RawSeries {
                section: "demand",
                start_key: "usd_per_epoch",
                model: d.model,
                start: d.usd_per_epoch,
                increase_per_year: d.increase_per_year,
                growth_per_year: d.growth_per_year,
                file: d.file,
                column: d.column,
                shocks: d.shocks,
            },
            base,
        )?;
        if let Some(p) = file.token_price {
            scenario.token_price = series(
                RawSeries {
                    section: "token_price",
                    start_key: "usd",
                    model: p.model,
                    start: p.usd,
                    increase_per_year: p.increase_per_year,
                    growth_per_year: p.growth_per_year,
                    file: p.file,
                    column: p.column,
                    shocks: p.shocks,
                },
                base,
            )?;
            if let SeriesModel::Constant { start }
            | SeriesModel::Linear { start, .. }
            | SeriesModel::Growth { start, .. } = scenario.token_price.model
            {
                if start <= 0.0 {
                    return Err(input("token_price.usd", "must be above 0"));
                }
            }
        } else if matches!(scenario.genesis.price, PriceConfig::Pyth { .. }) {
            return Err(input(
                "token_price",
                "missing: required when the genesis price source is pyth",
            ));
        }
        let p = file.providers;
        if !p.cost_usd_per_epoch.is_finite() || p.cost_usd_per_epoch < 0.0 {
            return Err(input(
                "providers.cost_usd_per_epoch",
                "must be a number of USD, 0 or more",
            ));
        }
        scenario.provider_cost_usd = p.cost_usd_per_epoch;
        scenario.providers = series(
            RawSeries {
                section: "providers",
                start_key: "count",
                model: p.model,
                start: p.count,
                increase_per_year: p.increase_per_year,
                growth_per_year: p.growth_per_year,
                file: p.file,
                column: p.column,
                shocks: p.shocks,
            },
            base,
        )?;
        Ok(scenario)
    }

    /// A scenario running `genesis` alone: no demand, one free provider, the genesis
    /// price (1 USD for a Pyth source, overridden by any `[token_price]`).
    fn from_genesis(genesis: GenesisConfig, name: &str, prefix: &str) -> Result<Self, ClientError> {
        let decimals = validate_genesis(&genesis, prefix)?;
        let price = match genesis.price {
            PriceConfig::Fixed { price, expo } => price as f64 * 10f64.powi(expo),
            PriceConfig::Pyth { .. } => 1.0,
        };
        let epochs_per_year = epochs_per_year(genesis.epochs.length_secs);
        Ok(Scenario {
            name: name.to_string(),
            decimals,
            epochs: DEFAULT_YEARS.saturating_mul(epochs_per_year),
            demand: Series::constant(0.0),
            token_price: Series::constant(price),
            providers: Series::constant(1.0),
            provider_cost_usd: 0.0,
            genesis,
        })
    }

    /// Epochs in a 365-day year (at least 1).
    pub fn epochs_per_year(&self) -> u64 {
        epochs_per_year(self.genesis.epochs.length_secs)
    }
}

/// Epochs in a 365-day year for an epoch length (at least 1).
pub fn epochs_per_year(length_secs: u64) -> u64 {
    (SECONDS_PER_YEAR + length_secs / 2)
        .checked_div(length_secs)
        .unwrap_or(1)
        .max(1)
}

/// Checks what the simulator needs of a genesis with the program's own validators;
/// returns the token decimals. `prefix` is prepended to field names.
fn validate_genesis(genesis: &GenesisConfig, prefix: &str) -> Result<u8, ClientError> {
    let field = |name: &str| format!("{prefix}{name}");
    let decimals = genesis.token.decimals.ok_or_else(|| {
        input(
            &field("token.decimals"),
            "required by the simulator (also for an existing mint)",
        )
    })?;
    if genesis.epochs.length_secs == 0 {
        return Err(input(&field("epochs.length_secs"), "must be above 0"));
    }
    schedule::validate_schedule(&genesis.segments())
        .map_err(|e| input(&field("schedule"), &e.to_string()))?;
    rewards::validate_split(
        genesis.split.usage_bps,
        genesis.split.contribution_bps,
        genesis.split.treasury_bps,
    )
    .map_err(|e| input(&field("split"), &e.to_string()))?;
    if genesis.credits.price_micro_usd == 0 {
        return Err(input(&field("credits.price_micro_usd"), "must be above 0"));
    }
    if genesis.supply.cap < genesis.token.initial_supply {
        return Err(input(&field("supply.cap"), "is below token.initial_supply"));
    }
    if let PriceConfig::Fixed { price, expo } = genesis.price {
        if price == 0 || !(-18..=18).contains(&expo) {
            return Err(input(
                &field("price"),
                "a fixed price needs price > 0 and expo in -18..=18",
            ));
        }
    }
    Ok(decimals)
}

/// Validates one series section and builds its [`Series`].
fn series(raw: RawSeries<'_>, base: &Path) -> Result<Series, ClientError> {
    let section = raw.section;
    let key = |name: &str| format!("{section}.{name}");
    let model_name = match raw.model {
        Model::Constant => "constant",
        Model::Linear => "linear",
        Model::Growth => "growth",
        Model::Csv => "csv",
    };
    let unused = |name: &str, present: bool| -> Result<(), ClientError> {
        if present {
            Err(input(
                &key(name),
                &format!("not used by model = \"{model_name}\""),
            ))
        } else {
            Ok(())
        }
    };
    let required = |name: &str, value: Option<f64>| -> Result<f64, ClientError> {
        let value = value
            .ok_or_else(|| input(&key(name), &format!("required by model = \"{model_name}\"")))?;
        if !value.is_finite() {
            return Err(input(&key(name), "must be a finite number"));
        }
        Ok(value)
    };
    let start_key = raw.start_key;
    let nonnegative = |value: f64| -> Result<f64, ClientError> {
        if value < 0.0 {
            Err(input(&key(start_key), "must be 0 or more"))
        } else {
            Ok(value)
        }
    };
    let model = match raw.model {
        Model::Constant => {
            unused("increase_per_year", raw.increase_per_year.is_some())?;
            unused("growth_per_year", raw.growth_per_year.is_some())?;
            unused("file", raw.file.is_some())?;
            unused("column", raw.column.is_some())?;
            SeriesModel::Constant {
                start: nonnegative(required(start_key, raw.start)?)?,
            }
        }
        Model::Linear => {
            unused("growth_per_year", raw.growth_per_year.is_some())?;
            unused("file", raw.file.is_some())?;
            unused("column", raw.column.is_some())?;
            SeriesModel::Linear {
                start: nonnegative(required(start_key, raw.start)?)?,
                increase_per_year: required("increase_per_year", raw.increase_per_year)?,
            }
        }
        Model::Growth => {
            unused("increase_per_year", raw.increase_per_year.is_some())?;
            unused("file", raw.file.is_some())?;
            unused("column", raw.column.is_some())?;
            let growth_per_year = required("growth_per_year", raw.growth_per_year)?;
            if growth_per_year <= -1.0 {
                return Err(input(&key("growth_per_year"), "must be above -1"));
            }
            SeriesModel::Growth {
                start: nonnegative(required(start_key, raw.start)?)?,
                growth_per_year,
            }
        }
        Model::Csv => {
            unused(start_key, raw.start.is_some())?;
            unused("increase_per_year", raw.increase_per_year.is_some())?;
            unused("growth_per_year", raw.growth_per_year.is_some())?;
            if !raw.shocks.is_empty() {
                return Err(input(
                    &key("shocks"),
                    "only parametric models take shocks; put them in the CSV",
                ));
            }
            let relative = raw
                .file
                .ok_or_else(|| input(&key("file"), "required by model = \"csv\""))?;
            let path = base.join(&relative);
            let rows = read_csv_column(&path, raw.column.as_deref())
                .map_err(|e| field_error(&key("file"), e))?;
            SeriesModel::Table { rows }
        }
    };
    for (index, shock) in raw.shocks.iter().enumerate() {
        if !shock.factor.is_finite() || shock.factor <= 0.0 {
            return Err(input(
                &format!("{section}.shocks[{index}].factor"),
                "must be above 0",
            ));
        }
    }
    Ok(Series {
        model,
        shocks: raw.shocks,
    })
}

/// Reads the `(epoch, value)` rows of a CSV series: a header naming an `epoch`
/// column and the value column (`column`, or the only other column), then one row
/// per data point. Blank lines and `#` comments are skipped.
pub fn read_csv_column(path: &Path, column: Option<&str>) -> Result<Vec<(u64, f64)>, ClientError> {
    let text = read(path)?;
    let at = |line: usize, message: String| ClientError::File {
        path: path.display().to_string(),
        message: format!("line {line}: {message}"),
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'));
    let (header_line, header) = lines
        .next()
        .ok_or_else(|| at(1, "empty: expected a header such as `epoch,value`".into()))?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let epoch_index = names
        .iter()
        .position(|name| *name == "epoch")
        .ok_or_else(|| at(header_line, "the header has no `epoch` column".into()))?;
    let value_index = match column {
        Some(wanted) => names
            .iter()
            .position(|name| *name == wanted)
            .ok_or_else(|| at(header_line, format!("no column `{wanted}` in the header")))?,
        None if names.len() == 2 => 1 - epoch_index,
        None => {
            return Err(at(
                header_line,
                "several value columns: name one with `column`".into(),
            ))
        }
    };
    let value_name = names[value_index];
    let mut rows: Vec<(u64, f64)> = Vec::new();
    for (line, row) in lines {
        let cells: Vec<&str> = row.split(',').map(str::trim).collect();
        if cells.len() != names.len() {
            return Err(at(
                line,
                format!("{} cells, the header has {}", cells.len(), names.len()),
            ));
        }
        let epoch: u64 = cells[epoch_index].parse().map_err(|_| {
            at(
                line,
                format!("epoch `{}` is not a whole number", cells[epoch_index]),
            )
        })?;
        let value: f64 = cells[value_index]
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                at(
                    line,
                    format!(
                        "{value_name} `{}` is not a number, 0 or more",
                        cells[value_index]
                    ),
                )
            })?;
        match rows.last() {
            None if epoch != 0 => {
                return Err(at(line, "the first row must be epoch 0".into()));
            }
            Some((previous, _)) if epoch <= *previous => {
                return Err(at(line, format!("epoch {epoch} is not after {previous}")));
            }
            _ => {}
        }
        rows.push((epoch, value));
    }
    if rows.is_empty() {
        return Err(at(header_line, "no data rows".into()));
    }
    Ok(rows)
}

/// Deserializes TOML strictly, reporting the dotted path of a bad field.
fn parse_strict<T: DeserializeOwned>(text: &str) -> Result<T, ClientError> {
    let deserializer = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ClientError::Input(describe(text, &path, error.inner()))
    })
}

/// One line for a TOML error: `field.path: message (line N)`. Serde names an unknown
/// or missing key only inside its message; it is moved into the path.
fn describe(text: &str, path: &str, error: &toml::de::Error) -> String {
    let message = crate::config::one_line(error.message());
    let (path, message) = match key_in_message(&message) {
        Some((key, rest)) => {
            // The path already ends with an unknown key, not with a missing one.
            let joined = if path.is_empty() {
                key.to_string()
            } else if path == key || path.ends_with(&format!(".{key}")) {
                path.to_string()
            } else {
                format!("{path}.{key}")
            };
            (joined, rest)
        }
        None => (path.to_string(), message.clone()),
    };
    let line = error
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let location = line.map(|l| format!(" (line {l})")).unwrap_or_default();
    if path.is_empty() {
        format!("{message}{location}")
    } else {
        format!("{path}: {message}{location}")
    }
}

/// Splits "unknown field `x`, expected …" / "missing field `x`" into the key and
/// the rest of the message.
fn key_in_message(message: &str) -> Option<(&str, String)> {
    for (prefix, what) in [
        ("unknown field `", "unknown field"),
        ("missing field `", "missing field"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let end = rest.find('`')?;
            let tail = rest[end + 1..].trim_start_matches(',').trim();
            let text = if tail.is_empty() {
                what.to_string()
            } else {
                format!("{what}; {tail}")
            };
            return Some((&rest[..end], text));
        }
    }
    None
}

/// Reads a file, naming it on error.
fn read(path: &Path) -> Result<String, ClientError> {
    std::fs::read_to_string(path).map_err(|e| ClientError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// `field: problem`.
fn input(field: &str, problem: &str) -> ClientError {
    ClientError::Input(format!("{field}: {problem}"))
}

/// Prefixes an error about a referenced file with the field that named it.
fn field_error(field: &str, error: ClientError) -> ClientError {
    ClientError::Input(format!("{field}: {error}"))
}

/// Attaches the file an input error was found in.
fn in_file(path: &Path, error: ClientError) -> ClientError {
    match error {
        ClientError::Input(message) => ClientError::File {
            path: path.display().to_string(),
            message,
        },
        other => other,
    }
}
