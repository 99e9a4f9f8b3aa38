//! `bme status`: the protocol at a glance.

use bme::math::schedule;
use bme::state::{Epoch, PendingChange};
use bme_client::transport::{self, Transport};
use bme_client::{pda, ClientError};
use serde::Serialize;

use super::chain::Chain;
use super::{format_tokens, output, pause_names, GlobalOptions};

/// What `bme status` shows.
#[derive(Debug, Serialize)]
pub struct Status {
    /// Protocol address.
    pub protocol: String,
    /// Network token mint.
    pub token_mint: String,
    /// Authority.
    pub authority: String,
    /// Guardian.
    pub guardian: String,
    /// Current epoch (by the cluster clock).
    pub current_epoch: Option<u64>,
    /// Oldest unclosed epoch.
    pub next_epoch_to_close: u64,
    /// Scheduled emission of the next epochs, base units.
    pub schedule_ahead: Vec<(u64, u64)>,
    /// Network token supply.
    pub token_supply: u64,
    /// Supply cap.
    pub supply_cap: u64,
    /// Credits outstanding.
    pub credit_supply: u64,
    /// Rewards owed but not yet claimed.
    pub rewards_outstanding: u64,
    /// The last closed epoch's pools (usage, contribution, treasury).
    pub last_closed_pools: Option<(u64, u64, u64)>,
    /// Paused flows.
    pub paused: Vec<&'static str>,
    /// A proposal waiting for its timelock.
    pub pending_change: Option<String>,
    /// A change staged for a later epoch.
    pub staged_change: Option<String>,
    /// Token decimals (for display).
    #[serde(skip)]
    pub decimals: u8,
}

/// Runs `bme status`.
pub async fn run(global: &GlobalOptions, chain: &mut Chain) -> Result<String, ClientError> {
    let (address, protocol) = chain.protocol(global).await?;
    let now = chain.unix_time().await?;
    let current_epoch = protocol.epoch_at(now).ok();
    let first = current_epoch.unwrap_or(0);
    let schedule_ahead = (first..first + 5)
        .filter_map(|e| {
            schedule::emission(&protocol.schedule, e)
                .ok()
                .map(|v| (e, v))
        })
        .collect();
    let mint: anchor_spl::token_interface::Mint = read_mint(chain, &protocol.token_mint).await?;
    let credits: anchor_spl::token_interface::Mint =
        read_mint(chain, &protocol.credit_mint).await?;
    let last_closed_pools = match protocol.next_epoch_to_close.checked_sub(1) {
        Some(last) => transport::read::<Epoch>(chain, &pda::epoch(&address, last))
            .await
            .ok()
            .map(|e| (e.usage_pool, e.contribution_pool, e.treasury_amount)),
        None => None,
    };
    let pending_change = transport::read::<PendingChange>(chain, &pda::pending_change(&address))
        .await
        .ok()
        .filter(|p| p.active)
        .map(|p| {
            format!(
                "#{} {:?} (applicable from unix {})",
                p.sequence, p.change, p.earliest_apply
            )
        });
    let status = Status {
        protocol: address.to_string(),
        token_mint: protocol.token_mint.to_string(),
        authority: protocol.authority.to_string(),
        guardian: protocol.guardian.to_string(),
        current_epoch,
        next_epoch_to_close: protocol.next_epoch_to_close,
        schedule_ahead,
        token_supply: mint.supply,
        supply_cap: protocol.supply_cap,
        credit_supply: credits.supply,
        rewards_outstanding: protocol.totals.rewards_outstanding,
        last_closed_pools,
        paused: pause_names(protocol.paused),
        pending_change,
        staged_change: protocol
            .staged
            .as_ref()
            .map(|s| format!("{:?} from epoch {}", s.change, s.from_epoch)),
        decimals: protocol.token_decimals,
    };
    output(global.json, &status, |s| {
        let t = |v: u64| format_tokens(v, s.decimals);
        let mut out = format!(
            "protocol        {}\ntoken mint      {}\nauthority       {}\nguardian        {}\n",
            s.protocol, s.token_mint, s.authority, s.guardian
        );
        out += &format!(
            "current epoch   {}\nnext to close   {}\n",
            s.current_epoch
                .map_or("before genesis".into(), |e| e.to_string()),
            s.next_epoch_to_close
        );
        out += "schedule ahead  ";
        out += &s
            .schedule_ahead
            .iter()
            .map(|(e, v)| format!("{e}: {}", t(*v)))
            .collect::<Vec<_>>()
            .join(", ");
        out += &format!(
            "\nsupply          {} of cap {}\ncredits out     {}\nrewards owed    {}\n",
            t(s.token_supply),
            t(s.supply_cap),
            s.credit_supply,
            t(s.rewards_outstanding)
        );
        if let Some((u, c, tr)) = s.last_closed_pools {
            out += &format!(
                "last pools      usage {}, contribution {}, treasury {}\n",
                t(u),
                t(c),
                t(tr)
            );
        }
        out += &format!(
            "paused          {}\npending change  {}\nstaged change   {}\n",
            if s.paused.is_empty() {
                "nothing".into()
            } else {
                s.paused.join(", ")
            },
            s.pending_change.as_deref().unwrap_or("none"),
            s.staged_change.as_deref().unwrap_or("none")
        );
        out
    })
}

async fn read_mint(
    chain: &mut Chain,
    address: &anchor_lang::prelude::Pubkey,
) -> Result<anchor_spl::token_interface::Mint, ClientError> {
    let account = chain
        .account(address)
        .await?
        .ok_or(ClientError::AccountNotFound(*address))?;
    <anchor_spl::token_interface::Mint as anchor_lang::AccountDeserialize>::try_deserialize(
        &mut account.data.as_slice(),
    )
    .map_err(|e| ClientError::Decode(*address, e.to_string()))
}
