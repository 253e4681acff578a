//! The VM's network interfaces as programs see them: rtnetlink dumps
//! (`netlink.rs`) and the SIOCGIF* ioctls. Until a network backend exists
//! the only interface is the loopback device, as in a fresh network
//! namespace.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::errno::Errno;
use crate::mm::UserSpace;

/// IFF_UP | IFF_LOOPBACK | IFF_RUNNING, and IFF_LOWER_UP (netlink only).
pub const IFF_UP: u32 = 0x1;
pub const IFF_LOOPBACK: u32 = 0x8;
pub const IFF_RUNNING: u32 = 0x40;
pub const IFF_LOWER_UP: u32 = 0x1_0000;
/// ARPHRD_LOOPBACK: the link-layer type of `lo`.
pub const ARPHRD_LOOPBACK: u16 = 772;

pub struct Iface {
    pub index: i32,
    pub name: &'static str,
    pub kind: u16,
    pub flags: u32,
    pub mtu: u32,
    pub txqlen: u32,
    pub hwaddr: [u8; 6],
    /// IPv4 addresses with their prefix length.
    pub v4: &'static [(Ipv4Addr, u8)],
    pub v6: &'static [(Ipv6Addr, u8)],
}

static LOOPBACK: Iface = Iface {
    index: 1,
    name: "lo",
    kind: ARPHRD_LOOPBACK,
    flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP,
    mtu: 65536,
    txqlen: 1000,
    hwaddr: [0; 6],
    v4: &[(Ipv4Addr::LOCALHOST, 8)],
    v6: &[(Ipv6Addr::LOCALHOST, 128)],
};

pub fn all() -> impl Iterator<Item = &'static Iface> {
    std::iter::once(&LOOPBACK)
}

pub fn by_index(index: i32) -> Option<&'static Iface> {
    all().find(|i| i.index == index)
}

pub fn by_name(name: &[u8]) -> Option<&'static Iface> {
    all().find(|i| i.name.as_bytes() == name)
}

const IFNAMSIZ: usize = 16;
/// sizeof(struct ifreq): the name, then a 24-byte union.
const IFREQ_LEN: usize = 40;
const SIOCGIFNAME: u32 = 0x8910;
const SIOCGIFCONF: u32 = 0x8912;
const SIOCGIFFLAGS: u32 = 0x8913;
const SIOCGIFADDR: u32 = 0x8915;
const SIOCGIFDSTADDR: u32 = 0x8917;
const SIOCGIFBRDADDR: u32 = 0x8919;
const SIOCGIFNETMASK: u32 = 0x891b;
const SIOCGIFMETRIC: u32 = 0x891d;
const SIOCGIFMTU: u32 = 0x8921;
const SIOCGIFHWADDR: u32 = 0x8927;
const SIOCGIFINDEX: u32 = 0x8933;
const SIOCGIFTXQLEN: u32 = 0x8942;
/// SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFDSTADDR, SIOCSIFBRDADDR,
/// SIOCSIFNETMASK, SIOCSIFMETRIC, SIOCSIFMEM, SIOCSIFMTU, SIOCSIFNAME,
/// SIOCSIFHWADDR, SIOCADDMULTI, SIOCDELMULTI, SIOCSIFHWBROADCAST,
/// SIOCSIFTXQLEN: the VM's interfaces cannot be reconfigured.
const SETTERS: [u32; 14] = [0x8914, 0x8916, 0x8918, 0x891a, 0x891c, 0x891e, 0x8920, 0x8922, 0x8923, 0x8924, 0x8931, 0x8932, 0x8937, 0x8943];

/// Whether `cmd` is one of the interface ioctls every socket answers.
pub fn is_iface_ioctl(cmd: u32) -> bool {
    (0x8910..=0x8960).contains(&cmd)
}

/// The interface an ifreq names (the name is cut at IFNAMSIZ - 1 bytes,
/// as Linux terminates it).
fn named(req: &[u8; IFREQ_LEN]) -> Result<&'static Iface, Errno> {
    let raw = &req[..IFNAMSIZ - 1];
    let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
    by_name(&raw[..end]).ok_or(Errno::ENODEV)
}

fn sockaddr_in(ip: Ipv4Addr) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&super::addr::AF_INET.to_le_bytes());
    b[4..8].copy_from_slice(&ip.octets());
    b
}

fn netmask(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - prefix as u32).unwrap_or(0))
}

/// The SIOCGIF* family on a socket; `inet`: the socket is AF_INET, the
/// only family whose ioctls report IPv4 addresses. Setting interface
/// parameters is refused: the VM's interfaces are fixed.
pub fn ioctl(us: &mut UserSpace, inet: bool, cmd: u32, arg: u64) -> Result<u64, Errno> {
    if cmd == SIOCGIFCONF {
        return ifconf(us, arg);
    }
    let mut req = [0u8; IFREQ_LEN];
    us.read_bytes(arg, &mut req)?;
    let data = &mut [0u8; 24];
    let dev = match cmd {
        SIOCGIFNAME => {
            let index = i32::from_le_bytes(req[16..20].try_into().expect("4 bytes"));
            let dev = by_index(index).ok_or(Errno::ENODEV)?;
            let mut name = [0u8; IFNAMSIZ];
            name[..dev.name.len()].copy_from_slice(dev.name.as_bytes());
            return us.write_bytes(arg, &name).map(|()| 0);
        }
        SIOCGIFINDEX | SIOCGIFFLAGS | SIOCGIFMETRIC | SIOCGIFMTU | SIOCGIFHWADDR | SIOCGIFTXQLEN => named(&req)?,
        SIOCGIFADDR | SIOCGIFDSTADDR | SIOCGIFBRDADDR | SIOCGIFNETMASK if inet => named(&req)?,
        c if SETTERS.contains(&c) => return Err(Errno::EPERM),
        _ => return Err(Errno::ENOTTY),
    };
    match cmd {
        SIOCGIFINDEX => data[..4].copy_from_slice(&dev.index.to_le_bytes()),
        SIOCGIFFLAGS => data[..2].copy_from_slice(&((dev.flags & 0xffff) as u16).to_le_bytes()),
        SIOCGIFMETRIC => {}
        SIOCGIFMTU => data[..4].copy_from_slice(&dev.mtu.to_le_bytes()),
        SIOCGIFTXQLEN => data[..4].copy_from_slice(&dev.txqlen.to_le_bytes()),
        SIOCGIFHWADDR => {
            data[..2].copy_from_slice(&dev.kind.to_le_bytes());
            data[2..8].copy_from_slice(&dev.hwaddr);
        }
        _ => {
            let &(ip, prefix) = dev.v4.first().ok_or(Errno::EADDRNOTAVAIL)?;
            let a = match cmd {
                SIOCGIFADDR | SIOCGIFDSTADDR => ip,
                SIOCGIFNETMASK => netmask(prefix),
                // The loopback device has no broadcast address.
                _ => Ipv4Addr::UNSPECIFIED,
            };
            data[..16].copy_from_slice(&sockaddr_in(a));
        }
    }
    us.write_bytes(arg + IFNAMSIZ as u64, data)?;
    Ok(0)
}

/// SIOCGIFCONF: one ifreq per interface IPv4 address, as many as fit in
/// `ifc_len` bytes; with a NULL buffer, the length all of them need.
fn ifconf(us: &mut UserSpace, arg: u64) -> Result<u64, Errno> {
    let len: i32 = us.read_val(arg)?;
    let buf: u64 = us.read_val(arg + 8)?;
    let mut recs = Vec::new();
    for dev in all() {
        for &(ip, _) in dev.v4 {
            let mut r = [0u8; IFREQ_LEN];
            r[..dev.name.len()].copy_from_slice(dev.name.as_bytes());
            r[IFNAMSIZ..IFNAMSIZ + 16].copy_from_slice(&sockaddr_in(ip));
            recs.push(r);
        }
    }
    let total = if buf == 0 {
        recs.len() * IFREQ_LEN
    } else {
        let fit = (len.max(0) as usize / IFREQ_LEN).min(recs.len());
        for (i, r) in recs[..fit].iter().enumerate() {
            us.write_bytes(buf + (i * IFREQ_LEN) as u64, r)?;
        }
        fit * IFREQ_LEN
    };
    us.write_val(arg, &(total as i32))?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_found_by_name_and_index() {
        assert_eq!(by_name(b"lo").map(|i| i.index), Some(1));
        assert!(by_name(b"eth0").is_none());
        assert_eq!(by_index(1).map(|i| i.name), Some("lo"));
        assert!(by_index(0).is_none());
        assert_eq!(netmask(8), Ipv4Addr::new(255, 0, 0, 0));
        assert_eq!(netmask(0), Ipv4Addr::UNSPECIFIED);
        assert_eq!(netmask(32), Ipv4Addr::new(255, 255, 255, 255));
    }
}
