//! Finds the book a decoded payload belongs to, by symbol, case-insensitively (Binance stream
//! names are lower case, payload symbols upper case).

/// Symbols of a multi-symbol router, in registration order.
#[derive(Clone, Debug, Default)]
pub struct SymbolIndex {
    symbols: Vec<String>,
}

impl SymbolIndex {
    /// Adds a symbol; returns its index, or `None` if it is already present.
    pub fn add(&mut self, symbol: &str) -> Option<usize> {
        if self.find(symbol).is_some() {
            return None;
        }
        self.symbols.push(symbol.to_owned());
        Some(self.symbols.len() - 1)
    }

    /// Index of `symbol`. A linear scan beats hashing for the few dozen symbols one
    /// connection carries, and needs no case-folded copy.
    #[inline]
    pub fn find(&self, symbol: &str) -> Option<usize> {
        self.symbols
            .iter()
            .position(|s| s.eq_ignore_ascii_case(symbol))
    }

    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_case_insensitively_and_refuses_duplicates() {
        let mut index = SymbolIndex::default();
        assert_eq!(index.add("BTCUSDT"), Some(0));
        assert_eq!(index.add("ETH-USDT"), Some(1));
        assert_eq!(index.add("btcusdt"), None);
        assert_eq!(index.find("btcusdt"), Some(0));
        assert_eq!(index.find("ETH-USDT"), Some(1));
        assert_eq!(index.find("XRPUSDT"), None);
    }
}
