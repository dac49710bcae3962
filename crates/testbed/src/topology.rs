//! Ready-made test networks.
//!
//! ```text
//! TwoHosts:   a [veth0] 198.18.0.1/24 2001:db8::1/64  <---->  [veth0] 198.18.0.2/24 2001:db8::2/64 b
//!
//! Routed:     client [veth0] 198.18.1.2/24  2001:db8:1::2/64
//!                      |
//!             gateway [vc] 198.18.1.1/24  2001:db8:1::1/64     (forwarding on)
//!             gateway [vs] 198.18.2.1/24  2001:db8:2::1/64
//!                      |
//!             server [veth0] 198.18.2.2/24  2001:db8:2::2/64
//! ```
//! Addresses are the same in every instance: namespaces are isolated, so parallel tests do not
//! collide. Everything goes away when the value is dropped (its namespaces are).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{veth_pair, Netns, Result};

/// Interface name of the single veth in [`TwoHosts`] hosts and in the client/server of [`Routed`].
pub const IFNAME: &str = "veth0";

/// Address of host `a` in [`TwoHosts`].
pub const TWO_HOSTS_A_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Address of host `b` in [`TwoHosts`].
pub const TWO_HOSTS_B_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// IPv6 address of host `a` in [`TwoHosts`].
pub const TWO_HOSTS_A_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// IPv6 address of host `b` in [`TwoHosts`].
pub const TWO_HOSTS_B_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// Two namespaces joined by one veth pair (`veth0` on each side), IPv4 and IPv6.
#[derive(Debug)]
pub struct TwoHosts {
    /// First host: [`TWO_HOSTS_A_V4`], [`TWO_HOSTS_A_V6`].
    pub a: Netns,
    /// Second host: [`TWO_HOSTS_B_V4`], [`TWO_HOSTS_B_V6`].
    pub b: Netns,
}

impl TwoHosts {
    /// Builds the two hosts and the link between them.
    pub fn new() -> Result<TwoHosts> {
        let a = Netns::new()?;
        let b = Netns::new()?;
        veth_pair(&a, IFNAME, &b, IFNAME)?;
        a.add_addr(IFNAME, &format!("{TWO_HOSTS_A_V4}/24"))?;
        a.add_addr(IFNAME, &format!("{TWO_HOSTS_A_V6}/64"))?;
        b.add_addr(IFNAME, &format!("{TWO_HOSTS_B_V4}/24"))?;
        b.add_addr(IFNAME, &format!("{TWO_HOSTS_B_V6}/64"))?;
        Ok(TwoHosts { a, b })
    }
}

/// Client address in [`Routed`].
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
/// Client IPv6 address in [`Routed`].
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);
/// Gateway address on the client side in [`Routed`].
pub const GATEWAY_CLIENT_SIDE_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
/// Gateway IPv6 address on the client side in [`Routed`].
pub const GATEWAY_CLIENT_SIDE_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
/// Gateway address on the server side in [`Routed`].
pub const GATEWAY_SERVER_SIDE_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 1);
/// Gateway IPv6 address on the server side in [`Routed`].
pub const GATEWAY_SERVER_SIDE_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1);
/// Server address in [`Routed`].
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);
/// Server IPv6 address in [`Routed`].
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 2);
/// Gateway interface towards the client in [`Routed`].
pub const GATEWAY_CLIENT_IF: &str = "vc";
/// Gateway interface towards the server in [`Routed`].
pub const GATEWAY_SERVER_IF: &str = "vs";

/// client -- gateway -- server, with forwarding on in the gateway and default routes in the
/// client and the server: the shape of an inline box (queue in the gateway's FORWARD chain).
#[derive(Debug)]
pub struct Routed {
    /// The client host.
    pub client: Netns,
    /// The router in the middle (forwarding enabled).
    pub gateway: Netns,
    /// The server host.
    pub server: Netns,
}

impl Routed {
    /// Builds the three namespaces, the two links, addresses, routes and forwarding.
    pub fn new() -> Result<Routed> {
        let client = Netns::new()?;
        let gateway = Netns::new()?;
        let server = Netns::new()?;
        veth_pair(&client, IFNAME, &gateway, GATEWAY_CLIENT_IF)?;
        veth_pair(&server, IFNAME, &gateway, GATEWAY_SERVER_IF)?;
        client.add_addr(IFNAME, &format!("{CLIENT_V4}/24"))?;
        client.add_addr(IFNAME, &format!("{CLIENT_V6}/64"))?;
        server.add_addr(IFNAME, &format!("{SERVER_V4}/24"))?;
        server.add_addr(IFNAME, &format!("{SERVER_V6}/64"))?;
        gateway.add_addr(GATEWAY_CLIENT_IF, &format!("{GATEWAY_CLIENT_SIDE_V4}/24"))?;
        gateway.add_addr(GATEWAY_CLIENT_IF, &format!("{GATEWAY_CLIENT_SIDE_V6}/64"))?;
        gateway.add_addr(GATEWAY_SERVER_IF, &format!("{GATEWAY_SERVER_SIDE_V4}/24"))?;
        gateway.add_addr(GATEWAY_SERVER_IF, &format!("{GATEWAY_SERVER_SIDE_V6}/64"))?;
        gateway.enable_forwarding()?;
        client.default_route(&GATEWAY_CLIENT_SIDE_V4.to_string())?;
        client.default_route(&GATEWAY_CLIENT_SIDE_V6.to_string())?;
        server.default_route(&GATEWAY_SERVER_SIDE_V4.to_string())?;
        server.default_route(&GATEWAY_SERVER_SIDE_V6.to_string())?;
        Ok(Routed {
            client,
            gateway,
            server,
        })
    }
}
