//! The tailor's side: their customers and their dashboard figures.
