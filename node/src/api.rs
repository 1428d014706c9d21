//! The node's own JSON-RPC methods.

use std::time::Duration;

use rollup_actors::{CallError, Control, ControlRoleError, Health, RoleControls};
use rollup_config::Config;
use rollup_roles::{DescribeRole, StartedRoles};
use rollup_rpc::{Methods, RpcError};
use serde::{Deserialize, Serialize};

/// How long `debug_crashRole` waits for the role to take the fault.
const CRASH_TIMEOUT: Duration = Duration::from_secs(10);

/// Answer of `rollup_nodeInfo`.
#[derive(Clone, Debug, Serialize)]
struct NodeInfo {
    version: &'static str,
    chain_id: u64,
    network: rollup_config::BitcoinNetwork,
    /// The enabled roles that run.
    roles: Vec<&'static str>,
    /// The enabled roles that are not implemented yet: nothing runs for them.
    not_implemented: Vec<&'static str>,
}

/// One entry of `rollup_roles`.
#[derive(Clone, Debug, Serialize)]
struct RoleEntry {
    role: &'static str,
    status: &'static str,
    /// Loads of the role's state so far; absent while the role is not loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    loads: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrashRoleParams {
    role: String,
}

/// The methods every node serves, plus `debug_crashRole` when fault injection is on.
pub(crate) fn methods(
    config: &Config,
    controls: RoleControls,
    roles: StartedRoles,
    health: Health,
) -> Methods {
    let mut methods = Methods::new();
    let info = NodeInfo {
        version: env!("CARGO_PKG_VERSION"),
        chain_id: config.node.chain_id,
        network: config.bitcoin.network,
        roles: config
            .roles
            .enabled()
            .iter()
            .filter(|role| role.is_implemented())
            .map(|role| role.as_str())
            .collect(),
        not_implemented: roles.not_implemented.iter().map(|role| role.as_str()).collect(),
    };
    let enabled = config.roles.enabled();
    methods.register("rollup_nodeInfo", move |params| {
        let info = info.clone();
        async move { params.none().map(|()| info) }
    });

    if let Some(prover) = &roles.prover {
        rollup_roles::prover::register(&mut methods, prover);
    }
    if let Some(controller) = &roles.controller {
        rollup_roles::controller::register(&mut methods, controller);
    }
    if let Some(sequencer) = &roles.sequencer {
        rollup_roles::sequencer::register(&mut methods, sequencer);
    }
    if let Some(vigilante) = &roles.vigilante {
        rollup_roles::vigilante::register(&mut methods, vigilante);
    }
    methods.register("rollup_roles", move |params| {
        let (roles, health, enabled) = (roles.clone(), health.clone(), enabled.clone());
        async move {
            params.none()?;
            let statuses = health.snapshot();
            let mut entries = Vec::new();
            for role in &enabled {
                let loads = match roles.describe.get(role) {
                    Some(sender) => sender.call(DescribeRole).await.ok().map(|(_, record)| record.loads),
                    None => None,
                };
                let status = statuses.get(role.as_str()).map_or("stopped", |status| status.name());
                entries.push(RoleEntry { role: role.as_str(), status, loads });
            }
            Ok::<_, RpcError>(entries)
        }
    });

    if config.debug.fault_injection {
        tracing::warn!(target: "rollup::rpc", "fault injection enabled: debug_crashRole is served");
        methods.register("debug_crashRole", move |params| {
            let controls = controls.clone();
            async move {
                let CrashRoleParams { role } = params.parse()?;
                match controls.send(&role, Control::InjectFault, CRASH_TIMEOUT).await {
                    // The role panicked as asked and is restarting.
                    Err(ControlRoleError::Call(CallError::Failed { role })) => Ok(format!("{role} crashed")),
                    Err(ControlRoleError::UnknownRole(role)) => {
                        Err(RpcError::invalid_params(format!("no role {role:?} runs in this node")))
                    }
                    Err(ControlRoleError::Call(error)) => Err(RpcError::from(error)),
                    Err(error @ ControlRoleError::Timeout { .. }) => Err(RpcError::internal(error)),
                    Ok(()) => Err(RpcError::internal(format!("role {role} did not crash"))),
                }
            }
        });
    }
    methods
}
