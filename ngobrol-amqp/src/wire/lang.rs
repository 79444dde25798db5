//! The languages a server's human sentences (`description`, notice texts)
//! come in.

/// A language of the server's sentences. Codes are the machine-readable
/// contract and never change with it; only the sentences do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Language {
    /// Indonesian: the original server's sentences, word for word, so the
    /// original console client reads what it always read. The default.
    #[default]
    Id,
    /// English.
    En,
}

impl Language {
    /// The language's tag on the wire and in settings: `id` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Id => "id",
            Language::En => "en",
        }
    }

    /// The language of a tag (`id`, `en`; case and region ignored, so
    /// `en-GB` is English).
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        match primary.to_ascii_lowercase().as_str() {
            "id" | "in" => Some(Language::Id),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

impl std::str::FromStr for Language {
    type Err = String;

    fn from_str(tag: &str) -> Result<Self, String> {
        Language::parse(tag).ok_or_else(|| format!("unknown language {tag:?}: use id or en"))
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}
