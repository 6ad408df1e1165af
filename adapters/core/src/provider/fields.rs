//! The field names a derived `Deserialize` of a struct accepts, read by
//! asking it to deserialise from a probe that records them.

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The fields `T` reads, or `None` when `T` is not a plain struct.
pub fn struct_fields<T: for<'de> Deserialize<'de>>() -> Option<&'static [&'static str]> {
    let mut probe = Probe { fields: None };
    let _ = T::deserialize(&mut probe);
    probe.fields
}

struct Probe {
    fields: Option<&'static [&'static str]>,
}

impl<'de> Deserializer<'de> for &mut Probe {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.fields = Some(fields);
        Err(de::Error::custom("probed"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Two {
        a: Option<u32>,
        #[serde(rename = "b_key")]
        b: Option<String>,
    }

    #[test]
    fn a_struct_names_its_fields_and_anything_else_none() {
        assert_eq!(struct_fields::<Two>(), Some(&["a", "b_key"][..]));
        assert_eq!(struct_fields::<u32>(), None);
    }
}
