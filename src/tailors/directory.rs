//! The directory customers search: text, skill, location, near-me (a
//! bounding box on the indexed coordinates, refined by exact distance),
//! rating, verification; paginated like the catalog.
