//! Rule variables (`$HOME_NET`, `$HTTP_PORTS`, ...) and the address and port sets they and
//! rule headers resolve to.
//!
//! [`Vars`] starts from Suricata's defaults (the `vars:` section of the stock suricata.yaml)
//! and the caller overrides what its config or command line says. Resolution turns an
//! expression tree into a flat, sorted set of ranges ([`IpSet`], [`PortSet`]), so matching a
//! packet is a binary search, and negation is plain set complement: `[10.0.0.0/8,!10.1.0.0/16]`
//! is "10/8 minus 10.1/16", a group with only negated members is "everything minus those".

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::parse::{parse_addr, parse_ports, AddrExpr, PortExpr};

/// Address and port variables, by name without the `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vars {
    addresses: BTreeMap<String, String>,
    ports: BTreeMap<String, String>,
}

impl Default for Vars {
    fn default() -> Self {
        Self::suricata_defaults()
    }
}

impl Vars {
    /// Suricata's defaults from the stock suricata.yaml.
    pub fn suricata_defaults() -> Vars {
        let mut v = Vars::empty();
        for (k, val) in [
            ("HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"),
            ("EXTERNAL_NET", "!$HOME_NET"),
            ("HTTP_SERVERS", "$HOME_NET"),
            ("SMTP_SERVERS", "$HOME_NET"),
            ("SQL_SERVERS", "$HOME_NET"),
            ("DNS_SERVERS", "$HOME_NET"),
            ("TELNET_SERVERS", "$HOME_NET"),
            ("AIM_SERVERS", "$EXTERNAL_NET"),
            ("DC_SERVERS", "$HOME_NET"),
            ("DNP3_SERVER", "$HOME_NET"),
            ("DNP3_CLIENT", "$HOME_NET"),
            ("MODBUS_CLIENT", "$HOME_NET"),
            ("MODBUS_SERVER", "$HOME_NET"),
            ("ENIP_CLIENT", "$HOME_NET"),
            ("ENIP_SERVER", "$HOME_NET"),
        ] {
            v.addresses.insert(k.to_string(), val.to_string());
        }
        for (k, val) in [
            ("HTTP_PORTS", "80"),
            ("SHELLCODE_PORTS", "!80"),
            ("ORACLE_PORTS", "1521"),
            ("SSH_PORTS", "22"),
            ("DNP3_PORTS", "20000"),
            ("MODBUS_PORTS", "502"),
            ("FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"),
            ("FTP_PORTS", "21"),
            ("GENEVE_PORTS", "6081"),
            ("VXLAN_PORTS", "4789"),
            ("TEREDO_PORTS", "3544"),
            ("SIP_PORTS", "[5060,5061]"),
        ] {
            v.ports.insert(k.to_string(), val.to_string());
        }
        v
    }

    /// No variables at all.
    pub fn empty() -> Vars {
        Vars {
            addresses: BTreeMap::new(),
            ports: BTreeMap::new(),
        }
    }

    /// Sets an address variable (`name` without `$`). The value is checked when used.
    pub fn set_address(&mut self, name: &str, value: &str) {
        self.addresses.insert(
            name.trim_start_matches('$').to_string(),
            value.trim().to_string(),
        );
    }

    /// Sets a port variable (`name` without `$`).
    pub fn set_port(&mut self, name: &str, value: &str) {
        self.ports.insert(
            name.trim_start_matches('$').to_string(),
            value.trim().to_string(),
        );
    }

    /// Sets a variable, choosing the kind as suricata.yaml does by name: names ending in
    /// `_PORTS` (or `_PORT`) are port groups, others address groups. Accepts the YAML paths
    /// `vars.address-groups.NAME` and `vars.port-groups.NAME` too.
    pub fn set(&mut self, name: &str, value: &str) {
        if let Some(n) = name.strip_prefix("vars.address-groups.") {
            self.set_address(n, value)
        } else if let Some(n) = name.strip_prefix("vars.port-groups.") {
            self.set_port(n, value)
        } else if name.ends_with("_PORTS") || name.ends_with("_PORT") {
            self.set_port(name, value)
        } else {
            self.set_address(name, value)
        }
    }

    /// The value of an address variable.
    pub fn address(&self, name: &str) -> Option<&str> {
        self.addresses.get(name).map(String::as_str)
    }

    /// The value of a port variable.
    pub fn port(&self, name: &str) -> Option<&str> {
        self.ports.get(name).map(String::as_str)
    }

    /// Resolves an address expression to a set.
    pub fn resolve_addr(&self, e: &AddrExpr) -> Result<IpSet, String> {
        self.addr_inner(e, 0)
    }

    /// Resolves a port expression to a set.
    pub fn resolve_ports(&self, e: &PortExpr) -> Result<PortSet, String> {
        self.port_inner(e, 0)
    }

    fn addr_inner(&self, e: &AddrExpr, depth: u32) -> Result<IpSet, String> {
        if depth > 32 {
            return Err("address variables nest too deep (a variable refers to itself?)".into());
        }
        Ok(match e {
            AddrExpr::Any => IpSet::all(),
            AddrExpr::Var(n) => {
                let v = self.address(n).ok_or_else(|| {
                    format!("address variable ${n} is not defined (set it in suricata.yaml vars or with --set {n}=...)")
                })?;
                let parsed = parse_addr(v).map_err(|off| {
                    format!("address variable ${n} = `{v}` is not valid at offset {off}")
                })?;
                self.addr_inner(&parsed, depth + 1)?
            }
            AddrExpr::Cidr(ip, bits) => IpSet::cidr(*ip, *bits),
            AddrExpr::Range(a, b) => IpSet::range(*a, *b),
            AddrExpr::Not(inner) => self.addr_inner(inner, depth + 1)?.complement(),
            AddrExpr::Group(items) => {
                let mut pos = IpSet::empty();
                let mut neg = IpSet::empty();
                let mut any_pos = false;
                for it in items {
                    if let AddrExpr::Not(inner) = it {
                        neg = neg.union(&self.addr_inner(inner, depth + 1)?);
                    } else {
                        any_pos = true;
                        pos = pos.union(&self.addr_inner(it, depth + 1)?);
                    }
                }
                if !any_pos {
                    pos = IpSet::all();
                }
                pos.difference(&neg)
            }
        })
    }

    fn port_inner(&self, e: &PortExpr, depth: u32) -> Result<PortSet, String> {
        if depth > 32 {
            return Err("port variables nest too deep (a variable refers to itself?)".into());
        }
        Ok(match e {
            PortExpr::Any => PortSet::all(),
            PortExpr::Var(n) => {
                let v = self.port(n).ok_or_else(|| {
                    format!("port variable ${n} is not defined (set it in suricata.yaml vars or with --set {n}=...)")
                })?;
                let parsed = parse_ports(v).map_err(|off| {
                    format!("port variable ${n} = `{v}` is not valid at offset {off}")
                })?;
                self.port_inner(&parsed, depth + 1)?
            }
            PortExpr::Range(a, b) => PortSet {
                ranges: vec![(*a, *b)],
            },
            PortExpr::Not(inner) => self.port_inner(inner, depth + 1)?.complement(),
            PortExpr::Group(items) => {
                let mut pos = PortSet::empty();
                let mut neg = PortSet::empty();
                let mut any_pos = false;
                for it in items {
                    if let PortExpr::Not(inner) = it {
                        neg = neg.union(&self.port_inner(inner, depth + 1)?);
                    } else {
                        any_pos = true;
                        pos = pos.union(&self.port_inner(it, depth + 1)?);
                    }
                }
                if !any_pos {
                    pos = PortSet::all();
                }
                pos.difference(&neg)
            }
        })
    }
}

/// Sorted, disjoint, non-adjacent inclusive ranges over `T`.
fn normalize<T: Copy + Ord + Step>(mut r: Vec<(T, T)>) -> Vec<(T, T)> {
    r.sort();
    let mut out: Vec<(T, T)> = Vec::with_capacity(r.len());
    for (a, b) in r {
        if let Some(last) = out.last_mut() {
            if last.1 == T::MAX || a <= last.1.next() {
                if b > last.1 {
                    last.1 = b;
                }
                continue;
            }
        }
        out.push((a, b));
    }
    out
}

fn complement<T: Copy + Ord + Step>(r: &[(T, T)]) -> Vec<(T, T)> {
    let mut out = Vec::new();
    let mut next = Some(T::MIN);
    for &(a, b) in r {
        if let Some(n) = next {
            if a > n {
                out.push((n, a.prev()));
            }
        }
        next = if b == T::MAX { None } else { Some(b.next()) };
    }
    if let Some(n) = next {
        out.push((n, T::MAX));
    }
    out
}

fn contains<T: Copy + Ord>(r: &[(T, T)], x: T) -> bool {
    let i = r.partition_point(|&(a, _)| a <= x);
    i > 0 && r[i - 1].1 >= x
}

trait Step: Sized {
    const MIN: Self;
    const MAX: Self;
    fn next(self) -> Self;
    fn prev(self) -> Self;
}

macro_rules! step {
    ($t:ty) => {
        impl Step for $t {
            const MIN: $t = 0;
            const MAX: $t = <$t>::MAX;
            fn next(self) -> $t {
                self.saturating_add(1)
            }
            fn prev(self) -> $t {
                self.saturating_sub(1)
            }
        }
    };
}
step!(u16);
step!(u32);
step!(u128);

/// A set of IPv4 and IPv6 addresses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl IpSet {
    /// No address.
    pub fn empty() -> IpSet {
        IpSet::default()
    }

    /// Every address.
    pub fn all() -> IpSet {
        IpSet {
            v4: vec![(0, u32::MAX)],
            v6: vec![(0, u128::MAX)],
        }
    }

    /// True for the set of every address (`any`).
    pub fn is_all(&self) -> bool {
        *self == IpSet::all()
    }

    fn cidr(ip: IpAddr, bits: u8) -> IpSet {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(bits.min(32)))
                };
                IpSet {
                    v4: vec![(a & mask, (a & mask) | !mask)],
                    v6: vec![],
                }
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - u32::from(bits.min(128)))
                };
                IpSet {
                    v4: vec![],
                    v6: vec![(a & mask, (a & mask) | !mask)],
                }
            }
        }
    }

    fn range(a: IpAddr, b: IpAddr) -> IpSet {
        match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) => IpSet {
                v4: normalize(vec![(u32::from(a), u32::from(b))]),
                v6: vec![],
            },
            (IpAddr::V6(a), IpAddr::V6(b)) => IpSet {
                v4: vec![],
                v6: normalize(vec![(u128::from(a), u128::from(b))]),
            },
            _ => IpSet::empty(),
        }
    }

    fn union(&self, o: &IpSet) -> IpSet {
        IpSet {
            v4: normalize(
                self.v4
                    .iter()
                    .chain(&o.v4)
                    .copied()
                    .filter(|(a, b)| a <= b)
                    .collect(),
            ),
            v6: normalize(
                self.v6
                    .iter()
                    .chain(&o.v6)
                    .copied()
                    .filter(|(a, b)| a <= b)
                    .collect(),
            ),
        }
    }

    fn complement(&self) -> IpSet {
        IpSet {
            v4: complement(&self.v4),
            v6: complement(&self.v6),
        }
    }

    fn difference(&self, o: &IpSet) -> IpSet {
        // a \ b = !( !a U b )
        self.complement().union(o).complement()
    }

    /// The IPv4 ranges (inclusive, sorted, disjoint).
    pub(crate) fn v4_ranges(&self) -> &[(u32, u32)] {
        &self.v4
    }

    /// The IPv6 ranges (inclusive, sorted, disjoint).
    pub(crate) fn v6_ranges(&self) -> &[(u128, u128)] {
        &self.v6
    }

    /// True if the set is small: at most a /8 worth of IPv4 and a /104 of IPv6 addresses.
    /// Rules on small sets are indexed by address instead of checked on every packet.
    pub(crate) fn is_narrow(&self) -> bool {
        let v4: u64 = self.v4.iter().map(|&(a, b)| u64::from(b - a) + 1).sum();
        let v6: u128 = self
            .v6
            .iter()
            .map(|&(a, b)| (b - a).saturating_add(1))
            .fold(0, u128::saturating_add);
        v4 <= 1 << 24 && v6 <= 1 << 24 && self.v4.len() + self.v6.len() <= 100_000
    }

    /// True if the address is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => contains(&self.v4, u32::from(a)),
            IpAddr::V6(a) => {
                if let Some(v4) = a.to_ipv4_mapped() {
                    if contains(&self.v4, u32::from(v4)) {
                        return true;
                    }
                }
                contains(&self.v6, u128::from(a))
            }
        }
    }
}

/// A set of ports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortSet {
    ranges: Vec<(u16, u16)>,
}

impl PortSet {
    /// No port.
    pub fn empty() -> PortSet {
        PortSet::default()
    }

    /// Every port.
    pub fn all() -> PortSet {
        PortSet {
            ranges: vec![(0, u16::MAX)],
        }
    }

    /// True for `any`.
    pub fn is_all(&self) -> bool {
        self.ranges == [(0, u16::MAX)]
    }

    fn union(&self, o: &PortSet) -> PortSet {
        PortSet {
            ranges: normalize(self.ranges.iter().chain(&o.ranges).copied().collect()),
        }
    }

    fn complement(&self) -> PortSet {
        PortSet {
            ranges: complement(&self.ranges),
        }
    }

    fn difference(&self, o: &PortSet) -> PortSet {
        self.complement().union(o).complement()
    }

    /// True if the port is in the set.
    pub fn contains(&self, p: u16) -> bool {
        contains(&self.ranges, p)
    }

    /// The number of ports in the set.
    pub fn len(&self) -> u32 {
        self.ranges
            .iter()
            .map(|&(a, b)| u32::from(b) - u32::from(a) + 1)
            .sum()
    }

    /// True if the set has no port.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Every port in the set (use on small sets).
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges.iter().flat_map(|&(a, b)| a..=b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_resolve() {
        let v = Vars::suricata_defaults();
        let home = v.resolve_addr(&AddrExpr::Var("HOME_NET".into())).unwrap();
        assert!(home.contains(ip("192.168.1.1")));
        assert!(home.contains(ip("172.31.255.255")));
        assert!(!home.contains(ip("172.32.0.0")));
        assert!(!home.contains(ip("2001:db8::1")));
        let ext = v
            .resolve_addr(&AddrExpr::Var("EXTERNAL_NET".into()))
            .unwrap();
        assert!(ext.contains(ip("8.8.8.8")));
        assert!(ext.contains(ip("2001:db8::1")));
        assert!(!ext.contains(ip("10.1.2.3")));
        let fdp = v
            .resolve_ports(&PortExpr::Var("FILE_DATA_PORTS".into()))
            .unwrap();
        assert!(fdp.contains(80) && fdp.contains(110) && fdp.contains(143) && !fdp.contains(81));
        let sc = v
            .resolve_ports(&PortExpr::Var("SHELLCODE_PORTS".into()))
            .unwrap();
        assert!(!sc.contains(80) && sc.contains(79) && sc.contains(81) && sc.contains(65535));
    }

    #[test]
    fn groups_with_negation() {
        let v = Vars::empty();
        let s = v
            .resolve_addr(&parse_addr("[10.0.0.0/8,!10.1.0.0/16,!10.2.0.1]").unwrap())
            .unwrap();
        assert!(s.contains(ip("10.0.0.1")));
        assert!(!s.contains(ip("10.1.3.3")));
        assert!(!s.contains(ip("10.2.0.1")));
        assert!(s.contains(ip("10.2.0.2")));
        assert!(!s.contains(ip("11.0.0.0")));
        let s = v.resolve_addr(&parse_addr("[!1.1.1.1]").unwrap()).unwrap();
        assert!(s.contains(ip("1.1.1.2")) && !s.contains(ip("1.1.1.1")));
        let s = v
            .resolve_addr(&parse_addr("1.1.1.250-1.1.2.3").unwrap())
            .unwrap();
        assert!(s.contains(ip("1.1.2.0")) && !s.contains(ip("1.1.2.4")));
        let p = v
            .resolve_ports(&parse_ports("[1:100,!50:60]").unwrap())
            .unwrap();
        assert!(
            p.contains(1)
                && p.contains(49)
                && !p.contains(55)
                && p.contains(61)
                && !p.contains(101)
        );
        assert_eq!(p.len(), 89);
        let p = v.resolve_ports(&parse_ports("!0:65535").unwrap()).unwrap();
        assert!(p.is_empty());
    }

    #[test]
    fn undefined_and_looping_vars_are_errors() {
        let mut v = Vars::empty();
        assert!(v
            .resolve_addr(&AddrExpr::Var("NOPE".into()))
            .unwrap_err()
            .contains("not defined"));
        v.set("A", "$A");
        assert!(v
            .resolve_addr(&AddrExpr::Var("A".into()))
            .unwrap_err()
            .contains("deep"));
        v.set("X_PORTS", "[1,2]");
        assert!(v
            .resolve_ports(&PortExpr::Var("X_PORTS".into()))
            .unwrap()
            .contains(2));
    }
}
