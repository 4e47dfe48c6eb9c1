//! Lenient serde readers for provider JSON, the streaming counterpart of `json.rs`'s `Value`
//! helpers: a [`Lenient`] reader says what it makes of the kinds of value it takes, and every
//! other kind reads as absent and is skipped without building anything. So a parser can read
//! the fields it keeps straight from a body's text (or from a `Value`), with no tree in between.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What a lenient reader makes of each kind of JSON value; every kind it does not take reads
/// as `Default` (absent), skipped without building anything.
pub(crate) trait Lenient<'de>: Sized {
    /// What it reads to (`Default` for a kind it does not take).
    type Out: Default;
    /// A string (borrowed from the text when it has no escapes).
    fn string(self, _s: Cow<'de, str>) -> Self::Out {
        Self::Out::default()
    }
    /// A number.
    fn number(self, _n: Num) -> Self::Out {
        Self::Out::default()
    }
    /// An object, to read entry by entry.
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Out, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Self::Out::default())
    }
    /// An array, to read element by element.
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Out, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Self::Out::default())
    }
}

/// A [`Lenient`] reader as a serde seed and visitor.
pub(crate) struct Read<L>(L);

pub(crate) fn read<'de, L: Lenient<'de>>(l: L) -> Read<L> {
    Read(l)
}

impl<'de, L: Lenient<'de>> DeserializeSeed<'de> for Read<L> {
    type Value = L::Out;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<L::Out, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, L: Lenient<'de>> Visitor<'de> for Read<L> {
    type Value = L::Out;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<L::Out, E> {
        Ok(L::Out::default())
    }
    fn visit_unit<E>(self) -> Result<L::Out, E> {
        Ok(L::Out::default())
    }
    fn visit_none<E>(self) -> Result<L::Out, E> {
        Ok(L::Out::default())
    }
    fn visit_u64<E>(self, n: u64) -> Result<L::Out, E> {
        Ok(self.0.number(Num { int: Some(n), float: Some(n as f64) }))
    }
    fn visit_i64<E>(self, n: i64) -> Result<L::Out, E> {
        Ok(self.0.number(Num { int: u64::try_from(n).ok(), float: Some(n as f64) }))
    }
    fn visit_f64<E>(self, f: f64) -> Result<L::Out, E> {
        // As `json::u64_of` reads a float: truncated when finite and in range.
        let int = (0.0..1.8e19).contains(&f).then_some(f as u64);
        Ok(self.0.number(Num { int, float: Some(f).filter(|f| f.is_finite()) }))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<L::Out, E> {
        Ok(self.0.string(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<L::Out, E> {
        Ok(self.0.string(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<L::Out, E> {
        Ok(self.0.string(Cow::Owned(s)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<L::Out, A::Error> {
        self.0.map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<L::Out, A::Error> {
        self.0.seq(seq)
    }
}

/// A number as `json::u64_of` (`int`) and `json::f64_of` (`float`) read it.
#[derive(Clone, Copy, Default)]
pub(crate) struct Num {
    pub int: Option<u64>,
    pub float: Option<f64>,
}

/// A string, owned.
pub(crate) struct Text;
impl<'de> Lenient<'de> for Text {
    type Out = Option<String>;
    fn string(self, s: Cow<'de, str>) -> Option<String> {
        Some(s.into_owned())
    }
}

/// A number.
pub(crate) struct Number;
impl<'de> Lenient<'de> for Number {
    type Out = Num;
    fn number(self, n: Num) -> Num {
        n
    }
}

/// A key, borrowed from the text when it has no escapes.
pub(crate) struct OwnedKey<'de>(pub(crate) PhantomData<&'de ()>);

impl<'de> DeserializeSeed<'de> for OwnedKey<'de> {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for OwnedKey<'de> {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(s))
    }
}
