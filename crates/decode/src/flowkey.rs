//! Bidirectional flow keys.
//!
//! A [`FlowKey`] names a conversation regardless of direction: the two endpoints are stored in
//! a canonical order (the smaller `(address, port)` first), so both directions of a
//! connection map to the same key. [`FlowKeyDir`] says which side sent the packet.

use std::net::IpAddr;

/// A direction-less 5-tuple (+ outer VLAN id), normalised so both directions are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// The smaller endpoint address.
    pub lo_addr: IpAddr,
    /// The larger endpoint address.
    pub hi_addr: IpAddr,
    /// Port of the smaller endpoint (0 for protocols without ports).
    pub lo_port: u16,
    /// Port of the larger endpoint.
    pub hi_port: u16,
    /// IP protocol number.
    pub proto: u8,
    /// Outer VLAN id (0 without a tag), so equal tuples on different VLANs stay apart.
    pub vlan: u16,
}

/// Which endpoint of a [`FlowKey`] sent a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowKeyDir {
    /// The packet's source is `lo_addr:lo_port`.
    LoToHi,
    /// The packet's source is `hi_addr:hi_port`.
    HiToLo,
}

impl FlowKey {
    /// Builds the normalised key of a packet and the direction it travels in.
    pub fn new(
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: u8,
        vlan: u16,
    ) -> (FlowKey, FlowKeyDir) {
        if (src, sport) <= (dst, dport) {
            (
                FlowKey {
                    lo_addr: src,
                    hi_addr: dst,
                    lo_port: sport,
                    hi_port: dport,
                    proto,
                    vlan,
                },
                FlowKeyDir::LoToHi,
            )
        } else {
            (
                FlowKey {
                    lo_addr: dst,
                    hi_addr: src,
                    lo_port: dport,
                    hi_port: sport,
                    proto,
                    vlan,
                },
                FlowKeyDir::HiToLo,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_same_key() {
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "198.18.0.2".parse().unwrap();
        let (k1, d1) = FlowKey::new(a, 1000, b, 80, 6, 0);
        let (k2, d2) = FlowKey::new(b, 80, a, 1000, 6, 0);
        assert_eq!(k1, k2);
        assert_ne!(d1, d2);
        let (k3, _) = FlowKey::new(a, 1001, b, 80, 6, 0);
        assert_ne!(k1, k3);
        let (k4, _) = FlowKey::new(a, 1000, b, 80, 6, 7);
        assert_ne!(k1, k4);
    }

    #[test]
    fn same_host_both_ports() {
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let (k1, d1) = FlowKey::new(a, 5000, a, 80, 17, 0);
        let (k2, d2) = FlowKey::new(a, 80, a, 5000, 17, 0);
        assert_eq!(k1, k2);
        assert_ne!(d1, d2);
    }
}
