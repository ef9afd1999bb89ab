//! Encrypted PDFs that anyone may open: the standard security handler with no user password.
//! A document encrypted only so that its owner's password restricts printing, copying or
//! editing (as banks send statements, and as many generated forms come) opens for every
//! reader, and so is read here as it is shown, instead of being refused unread. Revisions 2
//! to 6 of the handler: RC4 with a 40- to 128-bit key, AES-128 (`AESV2`) and AES-256
//! (`AESV3`, revisions 5 and 6), each stream and string decrypted with its object's key (ISO
//! 32000-2, 7.6). A document that asks for a user password, another security handler (a
//! public-key one), or an encryption dictionary that does not hold stays unread, noted so by
//! the caller.
//!
//! Uses `md-5`, `sha2` and `aes` (the handler's algorithms), and the PDF module's hex strings.

use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use aes::{Aes128, Aes256};
use md5::{Digest as _, Md5};
use sha2::{Sha256, Sha384, Sha512};

use super::{literal_bytes as literal, text_string, unhex};

/// How a PDF's streams and strings are to be read.
pub(super) enum Security {
    /// Not encrypted.
    Plain,
    /// Encrypted, and opened without a password.
    Open(Decryptor),
    /// Encrypted, and not opened here.
    Locked,
    /// Encrypted, and not opened: the reading has opened as many hardened ones as it may.
    Spent,
}

/// The security of the PDF file `bytes`: its trailer's `/Encrypt` dictionary, if any, opened
/// with the empty user password; `hardened_left` counts down the revision 6 keys the reading
/// may still derive (see [`MAX_HARDENED`]).
pub(super) fn security(bytes: &[u8], hardened_left: &mut usize) -> Security {
    let Some(at) = encrypt_name(bytes) else {
        return Security::Plain;
    };
    match Decryptor::open(bytes, at, hardened_left) {
        Ok(decryptor) => Security::Open(decryptor),
        Err(Closed::Locked) => Security::Locked,
        Err(Closed::Spent) => Security::Spent,
    }
}

/// Why an encrypted PDF was not opened.
enum Closed {
    /// It asks for a password, or its encryption is not read here.
    Locked,
    /// Its key would take more hardened hashing than the reading has left.
    Spent,
}

/// How many revision 6 (AES-256) documents one reading opens: each key costs about two
/// milliseconds of hashing (release build, this machine), and a request may hold many small
/// such files.
pub(in crate::redact::detect::encoded) const MAX_HARDENED: usize = 8;

/// Where the first name `/Encrypt` ends, written plainly or with `#` escapes (`/Encr#79pt`
/// is the same name to a reader). Each name is read once: the scan is linear.
fn encrypt_name(bytes: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'/', bytes).find_map(|slash| {
        let end = bytes[slash + 1..]
            .iter()
            .position(|&b| is_ws(b) || is_delimiter(b))
            .map_or(bytes.len(), |n| slash + 1 + n);
        let name = &bytes[slash..end];
        let is = name == b"/Encrypt" || name.contains(&b'#') && unescape(name) == b"/Encrypt";
        is.then_some(end)
    })
}

/// A name with its `#xx` escapes undone.
fn unescape(name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len());
    let mut i = 0;
    while let Some(&b) = name.get(i) {
        let hex = name
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b, hex) {
            (b'#', Some(h)) => {
                out.push(h);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// How a stream or a string is decrypted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Method {
    /// Not encrypted.
    Identity,
    Rc4,
    Aes,
}

/// What opens an encrypted PDF's streams and strings.
pub(super) struct Decryptor {
    /// The file's key.
    key: Vec<u8>,
    /// Handlers before AES-256 derive each object's key from the file's; AES-256 uses it as is.
    per_object: bool,
    streams: Method,
    strings: Method,
    /// Whether the document's metadata stream is encrypted too.
    metadata: bool,
    /// The encryption dictionary's own object: its strings are not encrypted.
    own: Option<(u32, u16)>,
}

/// The padding that stands for an empty password (ISO 32000-2, 7.6.4.3.2, Algorithm 2).
const PAD: [u8; 32] = [
    0x28, 0xbf, 0x4e, 0x5e, 0x4e, 0x75, 0x8a, 0x41, 0x64, 0x00, 0x4e, 0x56, 0xff, 0xfa, 0x01, 0x08,
    0x2e, 0x2e, 0x00, 0xb6, 0xd0, 0x68, 0x3e, 0x80, 0x2f, 0x0c, 0xa9, 0xfe, 0x64, 0x53, 0x69, 0x7a,
];

impl Decryptor {
    /// Reads the encryption dictionary that `/Encrypt` names at `bytes[at..]` (inline, or as a
    /// reference to its object) and derives the file's key from the empty user password.
    /// Closed unless that opens the document, or when it would take a revision 6 key and
    /// `hardened_left` (how many more this reading derives) is spent.
    fn open(bytes: &[u8], at: usize, hardened_left: &mut usize) -> Result<Self, Closed> {
        let locked = || Closed::Locked;
        let start = skip_ws(bytes, at);
        let (dict, own) = if bytes.get(start..start + 2) == Some(b"<<") {
            (&bytes[start..value_end(bytes, start)], None)
        } else {
            let (id, _) = reference(bytes, start).ok_or_else(locked)?;
            let body = skip_ws(bytes, find_object(bytes, id).ok_or_else(locked)?);
            (&bytes[body..value_end(bytes, body)], Some(id))
        };
        if name(entry(dict, b"/Filter").ok_or_else(locked)?) != Some(b"/Standard") {
            return Err(Closed::Locked);
        }
        let v = integer(entry(dict, b"/V").ok_or_else(locked)?).ok_or_else(locked)?;
        let r = integer(entry(dict, b"/R").ok_or_else(locked)?).ok_or_else(locked)?;
        let string = |key: &[u8]| entry(dict, key).and_then(string);
        let (o, u) = (
            string(b"/O").ok_or_else(locked)?,
            string(b"/U").ok_or_else(locked)?,
        );
        let metadata = entry(dict, b"/EncryptMetadata").is_none_or(|v| v != b"false");
        let (streams, strings) = match v {
            1 | 2 => (Method::Rc4, Method::Rc4),
            4 | 5 => (
                filter(dict, entry(dict, b"/StmF")).ok_or_else(locked)?,
                filter(dict, entry(dict, b"/StrF")).ok_or_else(locked)?,
            ),
            _ => return Err(Closed::Locked),
        };
        let key = match r {
            2..=4 if v <= 4 => {
                let bits = entry(dict, b"/Length").and_then(integer).unwrap_or(40);
                let n = match (r, usize::try_from(bits / 8)) {
                    (2, _) => 5,
                    (_, Ok(n @ 5..=16)) if bits % 8 == 0 => n,
                    _ => return Err(Closed::Locked),
                };
                let p = entry(dict, b"/P").and_then(integer).ok_or_else(locked)?;
                let id = first_id(bytes).ok_or_else(locked)?;
                md5_key(r, n, &o, p, &id, &u, metadata).ok_or_else(locked)?
            }
            5 | 6 if v == 5 => {
                // Revision 6's key costs about two milliseconds of hashing: a reading opens a
                // few such documents, not as many as a request can hold.
                if r == 6 {
                    *hardened_left = hardened_left.checked_sub(1).ok_or(Closed::Spent)?;
                }
                let ue = string(b"/UE").ok_or_else(locked)?;
                aes256_key(r, &u, &ue).ok_or_else(locked)?
            }
            _ => return Err(Closed::Locked),
        };
        // AES-128 takes a 16-byte key, AES-256 a 32-byte one.
        let aes_len = if v == 5 { 32 } else { 16 };
        if [streams, strings].contains(&Method::Aes) && key.len() != aes_len {
            return Err(Closed::Locked);
        }
        Ok(Self {
            key,
            per_object: v <= 4,
            streams,
            strings,
            metadata,
            own,
        })
    }

    /// A stream's data, decrypted: `before` holds its object's header and dictionary (and,
    /// before them, whatever came since the stream before it). A cross-reference stream, and
    /// the metadata stream of a document that leaves it in the clear, are not encrypted.
    /// `None` when the stream's object is not found, or its data does not decrypt.
    pub(super) fn stream(&self, before: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        let (id, header_end) = headers(before).pop()?;
        let dict = &before[header_end..];
        let clear = typed(dict, b"/XRef") || !self.metadata && typed(dict, b"/Metadata");
        let method = if clear {
            Method::Identity
        } else {
            self.streams
        };
        self.decrypt(method, id, data)
    }

    /// Adds the strings of the objects in `text` (text between streams, or after the last)
    /// to `out`, each decrypted with its object's key and read as a text string, a line each.
    /// Strings outside objects (a trailer's file identifier) are not encrypted, and are not
    /// text: they are passed over, as are the encryption dictionary's and a cross-reference
    /// stream's.
    pub(super) fn strings(&self, text: &[u8], out: &mut String) {
        let headers = headers(text);
        for (k, &(id, start)) in headers.iter().enumerate() {
            let end = headers.get(k + 1).map_or(text.len(), |&(_, next)| next);
            let object = &text[start..end];
            let object = &object[..memchr::memmem::find(object, b"endobj").unwrap_or(object.len())];
            // The encryption dictionary's strings, and a cross-reference stream's (the file's
            // identifier), are not encrypted.
            if Some(id) == self.own || typed(object, b"/XRef") {
                continue;
            }
            each_string(object, |bytes| {
                if let Some(plain) = self.decrypt(self.strings, id, &bytes) {
                    text_string(&plain, out);
                    out.push('\n');
                }
            });
        }
    }

    fn decrypt(&self, method: Method, id: (u32, u16), data: &[u8]) -> Option<Vec<u8>> {
        match method {
            Method::Identity => Some(data.to_vec()),
            Method::Rc4 => Some(rc4(&self.object_key(id, false), data)),
            Method::Aes => aes_cbc_decrypt(&self.object_key(id, true), data),
        }
    }

    /// The key for object `id`'s strings and streams (Algorithm 1): the file's key with the
    /// object's number and generation, hashed; AES-256 uses the file's key itself.
    fn object_key(&self, (number, generation): (u32, u16), aes: bool) -> Vec<u8> {
        if !self.per_object {
            return self.key.clone();
        }
        let mut h = Md5::new();
        h.update(&self.key);
        h.update(&number.to_le_bytes()[..3]);
        h.update(generation.to_le_bytes());
        if aes {
            h.update(b"sAlT");
        }
        h.finalize()[..(self.key.len() + 5).min(16)].to_vec()
    }
}

/// A crypt filter's method, by the name `/StmF` or `/StrF` gives (`/Identity` if none) and
/// its entry in `/CF`.
fn filter(dict: &[u8], named: Option<&[u8]>) -> Option<Method> {
    let Some(named) = named.and_then(name) else {
        return Some(Method::Identity);
    };
    if named == b"/Identity" {
        return Some(Method::Identity);
    }
    let filters = entry(dict, b"/CF")?;
    let this = entry(filters, named)?;
    match entry(this, b"/CFM").and_then(name) {
        Some(b"/V2") => Some(Method::Rc4),
        Some(b"/AESV2" | b"/AESV3") => Some(Method::Aes),
        Some(b"/None") | None => Some(Method::Identity),
        Some(_) => None,
    }
}

/// The file's key from the empty user password, for revisions 2 to 4 (Algorithm 2), if the
/// `/U` entry confirms the password is indeed empty (Algorithms 4 to 6).
fn md5_key(r: i64, n: usize, o: &[u8], p: i64, id: &[u8], u: &[u8], meta: bool) -> Option<Vec<u8>> {
    let mut h = Md5::new();
    h.update(PAD);
    h.update(o);
    // The permissions as 32 bits, low byte first (written signed or not).
    h.update((p as u32).to_le_bytes());
    h.update(id);
    if r >= 4 && !meta {
        h.update([0xff; 4]);
    }
    let mut key = h.finalize().to_vec();
    if r >= 3 {
        for _ in 0..50 {
            key = Md5::digest(&key[..n]).to_vec();
        }
    }
    key.truncate(n);
    let opens = if r == 2 {
        u.get(..32) == Some(&rc4(&key, &PAD)[..])
    } else {
        let mut h = Md5::new();
        h.update(PAD);
        h.update(id);
        let mut check = rc4(&key, &h.finalize());
        for i in 1..=19u8 {
            let round: Vec<u8> = key.iter().map(|b| b ^ i).collect();
            check = rc4(&round, &check);
        }
        u.get(..16) == Some(&check[..])
    };
    opens.then_some(key)
}

/// The file's key from the empty user password, for AES-256 (revisions 5 and 6, Algorithm
/// 2.A): `/U` holds the password's hash, its validation salt and its key salt; `/UE` the
/// file's key, encrypted with a key hashed from the password and the key salt.
fn aes256_key(r: i64, u: &[u8], ue: &[u8]) -> Option<Vec<u8>> {
    let (hash, rest) = u.get(..48)?.split_at(32);
    let (validation, salt) = rest.split_at(8);
    if hardened_hash(r, validation)? != hash {
        return None;
    }
    let wrapping = hardened_hash(r, salt)?;
    let cipher = Aes256::new_from_slice(&wrapping).ok()?;
    // CBC with a zero IV over the two blocks, without padding.
    let ue = ue.get(..32)?;
    let mut prev = [0u8; 16];
    let mut key = Vec::with_capacity(32);
    for block in ue.chunks_exact(16) {
        let mut b = Array::from(<[u8; 16]>::try_from(block).ok()?);
        cipher.decrypt_block(&mut b);
        key.extend(b.iter().zip(prev).map(|(x, p)| x ^ p));
        prev.copy_from_slice(block);
    }
    Some(key)
}

/// The hash of the empty password with `salt` (Algorithm 2.B): SHA-256 for revision 5; for
/// revision 6, at least 64 rounds more of AES-128 and SHA-256, -384 or -512 (the last byte of
/// each round's data decides when to stop, by round 288 at the latest).
fn hardened_hash(r: i64, salt: &[u8]) -> Option<[u8; 32]> {
    let mut k = Sha256::digest(salt).to_vec();
    if r == 6 {
        for round in 1u32.. {
            let data = k.repeat(64);
            let cipher = Aes128::new_from_slice(&k[..16]).ok()?;
            let mut prev: [u8; 16] = k[16..32].try_into().ok()?;
            let mut e = Vec::with_capacity(data.len());
            for block in data.chunks_exact(16) {
                let mut b: [u8; 16] = block.try_into().ok()?;
                b.iter_mut().zip(prev).for_each(|(x, p)| *x ^= p);
                let mut b = Array::from(b);
                cipher.encrypt_block(&mut b);
                prev = b.into();
                e.extend_from_slice(&prev);
            }
            let sum: u32 = e[..16].iter().map(|&b| u32::from(b)).sum();
            k = match sum % 3 {
                0 => Sha256::digest(&e).to_vec(),
                1 => Sha384::digest(&e).to_vec(),
                _ => Sha512::digest(&e).to_vec(),
            };
            let last = u32::from(*e.last()?);
            if round >= 64 && last + 32 <= round {
                break;
            }
        }
    }
    k.get(..32)?.try_into().ok()
}

/// RC4: its key schedule, then the data XORed with its stream.
fn rc4(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key[i % key.len().max(1)]);
        s.swap(i, usize::from(j));
    }
    let (mut i, mut j) = (0u8, 0u8);
    data.iter()
        .map(|&b| {
            i = i.wrapping_add(1);
            j = j.wrapping_add(s[usize::from(i)]);
            s.swap(usize::from(i), usize::from(j));
            b ^ s[usize::from(s[usize::from(i)].wrapping_add(s[usize::from(j)]))]
        })
        .collect()
}

/// AES-CBC with the IV in the data's first 16 bytes, its padding taken off; `None` if the
/// data holds no IV. Bytes after the last whole block (the end of line a stream's data is
/// read with, up to `endstream`) are left out. A 16- or 32-byte key.
fn aes_cbc_decrypt(key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let (iv, blocks) = data.split_at_checked(16)?;
    let blocks = &blocks[..blocks.len() / 16 * 16];
    let decrypt: Box<dyn Fn(&mut Array<u8, _>)> = match key.len() {
        16 => {
            let c = Aes128::new_from_slice(key).ok()?;
            Box::new(move |b| c.decrypt_block(b))
        }
        _ => {
            let c = Aes256::new_from_slice(key).ok()?;
            Box::new(move |b| c.decrypt_block(b))
        }
    };
    let mut prev: [u8; 16] = iv.try_into().ok()?;
    let mut out = Vec::with_capacity(blocks.len());
    for block in blocks.chunks_exact(16) {
        let mut b = Array::from(<[u8; 16]>::try_from(block).ok()?);
        decrypt(&mut b);
        out.extend(b.iter().zip(prev).map(|(x, p)| x ^ p));
        prev.copy_from_slice(block);
    }
    // PKCS #7 padding, when it is one.
    if let Some(&n) = out.last()
        && (1..=16).contains(&n)
        && out.len() >= usize::from(n)
        && out[out.len() - usize::from(n)..].iter().all(|&b| b == n)
    {
        out.truncate(out.len() - usize::from(n));
    }
    Some(out)
}

/// Calls `each` with the bytes of every literal and hex string in `object`.
fn each_string(object: &[u8], mut each: impl FnMut(Vec<u8>)) {
    let mut i = 0;
    while i < object.len() {
        match object[i] {
            b'(' => {
                let mut bytes = Vec::new();
                i = literal(object, i + 1, Some(&mut bytes));
                each(bytes);
            }
            b'<' if object.get(i + 1) == Some(&b'<') => i += 2,
            b'<' => {
                let end = memchr::memchr(b'>', &object[i..]).map_or(object.len(), |n| i + n);
                if let Some(bytes) = unhex(&object[i + 1..end]) {
                    each(bytes);
                }
                i = end + 1;
            }
            b'%' => i = memchr::memchr2(b'\n', b'\r', &object[i..]).map_or(object.len(), |n| i + n),
            _ => i += 1,
        }
    }
}

/// The indirect objects' headers (`12 0 obj`) in `text`: each object's number and generation,
/// and where its body starts.
fn headers(text: &[u8]) -> Vec<((u32, u16), usize)> {
    let mut out = Vec::new();
    for at in memchr::memmem::find_iter(text, b"obj") {
        let end = at + 3;
        if text
            .get(end)
            .is_some_and(|&b| !is_ws(b) && !is_delimiter(b))
        {
            continue;
        }
        let digits_before = |to: usize| {
            let from = text[..to]
                .iter()
                .rposition(|b| !b.is_ascii_digit())
                .map_or(0, |p| p + 1);
            let digits = std::str::from_utf8(&text[from..to]).ok();
            (from, digits.and_then(|d| d.parse::<u32>().ok()))
        };
        let Some(gap) = text[..at].iter().rposition(|&b| !is_ws(b)).map(|p| p + 1) else {
            continue;
        };
        if gap == at {
            continue;
        }
        let (gen_from, Some(generation)) = digits_before(gap) else {
            continue;
        };
        let Some(gap) = text[..gen_from]
            .iter()
            .rposition(|&b| !is_ws(b))
            .map(|p| p + 1)
            .filter(|&g| g < gen_from)
        else {
            continue;
        };
        let (from, Some(number)) = digits_before(gap) else {
            continue;
        };
        if from > 0 && !is_ws(text[from - 1]) && !is_delimiter(text[from - 1]) {
            continue;
        }
        if let Ok(generation) = u16::try_from(generation) {
            out.push(((number, generation), end));
        }
    }
    out
}

/// Where the body of object `id` starts (after `N G obj`).
fn find_object(bytes: &[u8], id: (u32, u16)) -> Option<usize> {
    let header = format!("{} {} obj", id.0, id.1);
    memchr::memmem::find_iter(bytes, header.as_bytes())
        .find(|&at| at == 0 || is_ws(bytes[at - 1]) || is_delimiter(bytes[at - 1]))
        .map(|at| at + header.len())
}

/// Whether the dictionary `dict` (an object's, before its stream) names the type `ty`.
fn typed(dict: &[u8], ty: &[u8]) -> bool {
    let start = memchr::memmem::find(dict, b"<<").unwrap_or(dict.len());
    let dict = &dict[start..];
    entry(dict, b"/Type").and_then(name) == Some(ty)
}

/// An indirect reference `N G R` at `bytes[at..]`: the object's id and where it ends.
fn reference(bytes: &[u8], at: usize) -> Option<((u32, u16), usize)> {
    let token = |from: usize| {
        let from = skip_ws(bytes, from);
        let end = bytes[from..]
            .iter()
            .position(|&b| is_ws(b) || is_delimiter(b))
            .map_or(bytes.len(), |n| from + n);
        (&bytes[from..end], end)
    };
    let (number, end) = token(at);
    let (generation, end) = token(end);
    let (r, end) = token(end);
    let number = std::str::from_utf8(number).ok()?.parse().ok()?;
    let generation = std::str::from_utf8(generation).ok()?.parse().ok()?;
    (r == b"R").then_some(((number, generation), end))
}

/// The first string of the trailer's file identifier (`/ID [<...> <...>]`).
fn first_id(bytes: &[u8]) -> Option<Vec<u8>> {
    memchr::memmem::find_iter(bytes, b"/ID").find_map(|at| {
        let open = skip_ws(bytes, at + 3);
        if bytes.get(open) != Some(&b'[') {
            return None;
        }
        let start = skip_ws(bytes, open + 1);
        string(&bytes[start..value_end(bytes, start)])
    })
}

/// The value of `key` in the dictionary `dict` (which starts with `<<`), as its bytes.
fn entry<'a>(dict: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut i = skip_ws(dict, 0);
    if !dict[i..].starts_with(b"<<") {
        return None;
    }
    i += 2;
    loop {
        i = skip_ws(dict, i);
        match dict.get(i..)? {
            [] | [b'>', b'>', ..] => return None,
            [b'/', ..] => {
                let end = value_end(dict, i);
                let value = skip_ws(dict, end);
                let value_to = value_end(dict, value);
                if &dict[i..end] == key {
                    return Some(&dict[value..value_to]);
                }
                i = value_to.max(i + 1);
            }
            _ => i = value_end(dict, i).max(i + 1),
        }
    }
}

/// Where the value starting at `bytes[at..]` ends: a dictionary or an array with all it
/// holds, a string, a name, or a number or keyword.
fn value_end(bytes: &[u8], at: usize) -> usize {
    let mut depth = 0usize;
    let mut i = at;
    loop {
        i = skip_ws(bytes, i);
        let Some(&b) = bytes.get(i) else {
            return bytes.len();
        };
        match b {
            b'(' => i = literal(bytes, i + 1, None),
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'[' => {
                depth += 1;
                i += 1;
                continue;
            }
            b'<' => i = memchr::memchr(b'>', &bytes[i..]).map_or(bytes.len(), |n| i + n + 1),
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 2;
            }
            b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => {
                // A name's slash, or any other delimiter, then the token's regular bytes.
                i += 1;
                while bytes.get(i).is_some_and(|&b| !is_ws(b) && !is_delimiter(b)) {
                    i += 1;
                }
            }
        }
        if depth == 0 {
            return i;
        }
    }
}

/// The bytes of a literal or hex string value.
fn string(value: &[u8]) -> Option<Vec<u8>> {
    match value.first()? {
        b'(' => {
            let mut bytes = Vec::new();
            literal(value, 1, Some(&mut bytes));
            Some(bytes)
        }
        b'<' => unhex(value.get(1..value.len().checked_sub(1)?)?),
        _ => None,
    }
}

/// An integer value (a real's whole part).
fn integer(value: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(value).ok()?;
    let whole = text.split('.').next()?;
    whole.parse().ok()
}

/// A name value, its slash included.
fn name(value: &[u8]) -> Option<&[u8]> {
    value.starts_with(b"/").then_some(value)
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        if is_ws(b) {
            i += 1;
        } else if b == b'%' {
            i = memchr::memchr2(b'\n', b'\r', &bytes[i..]).map_or(bytes.len(), |n| i + n);
        } else {
            break;
        }
    }
    i
}

fn is_ws(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

#[cfg(test)]
mod tests;
