//! [`DecodeError`]: why a payload was refused, as a [`ErrorKind`] callers can match on plus a
//! message naming the field.

/// What was wrong with a payload, for callers that react by kind rather than by message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not JSON, or truncated.
    BadJson,
    /// A field of the wrong JSON type or shape (a level that is not an array, a string for a
    /// number, ...).
    BadType,
    /// A field the message needs is absent.
    MissingField,
    /// A decimal or integer string that is not a number.
    NotANumber,
    /// A number with more digits or decimals than the core holds.
    TooLarge,
    /// A field with a value the core does not know (an unknown action or type).
    BadValue,
    /// A price or size that is not a multiple of the configured tick or lot size.
    OffGrid,
    /// A price or size that does not fit the book at the scale it needs.
    ScaleOverflow,
    /// The same price twice on one side of a snapshot.
    DuplicatePrice,
    /// A body given as a snapshot that is not one.
    NotASnapshot,
    /// The venue answered with an error instead of data.
    VenueError,
}

impl ErrorKind {
    /// Every kind, for bindings that list them.
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::BadJson,
        ErrorKind::BadType,
        ErrorKind::MissingField,
        ErrorKind::NotANumber,
        ErrorKind::TooLarge,
        ErrorKind::BadValue,
        ErrorKind::OffGrid,
        ErrorKind::ScaleOverflow,
        ErrorKind::DuplicatePrice,
        ErrorKind::NotASnapshot,
        ErrorKind::VenueError,
    ];

    /// The stable snake_case name (`DecodeError.kind` in Python).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadJson => "bad_json",
            ErrorKind::BadType => "bad_type",
            ErrorKind::MissingField => "missing_field",
            ErrorKind::NotANumber => "not_a_number",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::BadValue => "bad_value",
            ErrorKind::OffGrid => "off_grid",
            ErrorKind::ScaleOverflow => "scale_overflow",
            ErrorKind::DuplicatePrice => "duplicate_price",
            ErrorKind::NotASnapshot => "not_a_snapshot",
            ErrorKind::VenueError => "venue_error",
        }
    }
}

/// Malformed or unsupported input: its kind and a message naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub kind: ErrorKind,
    pub message: String,
}

impl DecodeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DecodeError {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Phrases of the decoders' own messages (see `fixed::NumberError`, `scan`, `levels`) that
/// reach here inside a serde error, which carries only text.
const PHRASES: [(&str, ErrorKind); 8] = [
    ("not a decimal number", ErrorKind::NotANumber),
    ("not an integer", ErrorKind::NotANumber),
    ("too many digits", ErrorKind::TooLarge),
    ("too large", ErrorKind::TooLarge),
    ("invalid type", ErrorKind::BadType),
    ("expected", ErrorKind::BadType),
    ("missing", ErrorKind::MissingField),
    ("invalid length", ErrorKind::BadType),
];

impl From<serde_json::Error> for DecodeError {
    fn from(err: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let message = err.to_string();
        let kind = match err.classify() {
            Category::Syntax | Category::Eof | Category::Io => ErrorKind::BadJson,
            Category::Data => PHRASES
                .iter()
                .find(|(phrase, _)| message.contains(phrase))
                .map_or(ErrorKind::BadValue, |(_, kind)| *kind),
        };
        DecodeError { kind, message }
    }
}
