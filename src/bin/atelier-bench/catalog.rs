//! The seeded catalog: product `i` is derived from `i` alone, so every run
//! uploads the same products and the filters select the same fractions.

use serde_json::{Value, json};

/// Kinds by weight: half ready-made clothes, 30% fabric, 20% accessories.
const KINDS: [(&str, u64); 3] = [("ready_made", 5), ("fabric", 3), ("accessory", 2)];
const MATERIALS: [&str; 8] = [
    "cotton", "silk", "linen", "wool", "lace", "velvet", "chiffon", "leather",
];
pub const COLORS: [&str; 10] = [
    "indigo", "black", "white", "red", "gold", "green", "blue", "purple", "orange", "cream",
];
const ADJECTIVES: [&str; 6] = [
    "Classic", "Royal", "Everyday", "Festive", "Modern", "Heritage",
];
const DETAILS: [&str; 5] = [
    "Hand-embroidered neckline.",
    "Tailored fit.",
    "Machine washable.",
    "Made to order in Lagos.",
    "Limited run.",
];
/// Price steps: ₦2,000 to ₦501,750.
const BASE_PRICE_KOBO: i64 = 200_000;
const PRICE_STEP_KOBO: i64 = 250_000;
const PRICE_STEPS: u64 = 200;
/// Share of products whose variants are all out of stock.
const SOLD_OUT_PERCENT: u64 = 15;

/// What a kind is called and how it is sized.
fn kind_shape(kind: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        "ready_made" => (
            &["agbada", "kaftan", "dress", "shirt", "gown", "suit"],
            &["XS", "S", "M", "L", "XL", "XXL"],
        ),
        "fabric" => (
            &["ankara", "aso-oke", "adire", "brocade"],
            &["2 yards", "4 yards", "6 yards"],
        ),
        _ => (
            &["cap", "bag", "beads", "shoes", "scarf"],
            &["small", "medium", "large"],
        ),
    }
}

/// A small deterministic generator (SplitMix64) seeded with an index.
pub struct Mix(pub u64);

impl Mix {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The upload body of product `index`, with `variants` variants.
pub fn product(index: usize, variants: usize) -> Value {
    let mut mix = Mix(index as u64);
    let mut roll = mix.below(KINDS.iter().map(|(_, w)| w).sum());
    let kind = KINDS
        .iter()
        .find(|(_, weight)| {
            let hit = roll < *weight;
            roll = roll.saturating_sub(*weight);
            hit
        })
        .map_or("ready_made", |(kind, _)| kind);
    let (nouns, sizes) = kind_shape(kind);
    let noun = mix.pick(nouns);
    let material = mix.pick(&MATERIALS);
    let adjective = mix.pick(&ADJECTIVES);
    let detail = mix.pick(&DETAILS);
    // 2 to 4 distinct colours: stepping by 3 through 10 never repeats.
    let first = mix.below(COLORS.len() as u64) as usize;
    let colors: Vec<&str> = (0..2 + mix.below(3) as usize)
        .map(|k| COLORS[(first + 3 * k) % COLORS.len()])
        .collect();
    let price = BASE_PRICE_KOBO + mix.below(PRICE_STEPS) as i64 * PRICE_STEP_KOBO;
    let discount = if mix.below(10) < 3 {
        5 * (1 + mix.below(8))
    } else {
        0
    };
    let sold_out = mix.below(100) < SOLD_OUT_PERCENT;
    // A run of 2 or 3 neighbouring sizes, wider only when the colours cannot
    // otherwise make every (size, colour) pair distinct.
    let wanted = 2 + mix.below(2) as usize;
    let width = wanted.max(variants.div_ceil(colors.len())).min(sizes.len());
    let first_size = mix.below((sizes.len() - width + 1) as u64) as usize;
    let variants: Vec<Value> = (0..variants)
        .map(|j| {
            let size = first_size + j % width;
            let color = colors[(j / width) % colors.len()];
            let stock = if sold_out { 0 } else { mix.below(40) };
            let price_delta = if kind == "ready_made" {
                size as i64 * 100_000
            } else {
                0
            };
            json!({ "size": sizes[size], "color": color, "stock": stock, "price_delta": price_delta })
        })
        .collect();
    json!({
        "name": format!("{adjective} {material} {noun} #{index}"),
        "description": format!(
            "{} {noun} in {material}, {}. {detail}",
            adjective.to_lowercase(),
            colors.join(" and ")
        ),
        "kind": kind,
        "material": material,
        "colors": colors,
        "price": price,
        "discount_percent": discount,
        "variants": variants,
    })
}

/// The filtered scenario's mix: single filters and pairs, rotated per request.
pub const FILTERS: [&str; 18] = [
    "kind=ready_made",
    "kind=fabric",
    "color=indigo",
    "size=M",
    "material=silk",
    "min_price=1000000&max_price=5000000",
    "in_stock=true",
    "ordering=price",
    "search=agbada",
    "kind=ready_made&size=L",
    "color=gold&in_stock=true",
    "kind=fabric&ordering=price",
    "search=embroidered&max_price=10000000",
    "material=cotton&color=black",
    "min_price=20000000&ordering=-price",
    "kind=accessory&color=red",
    "size=XL&in_stock=true",
    "search=royal&kind=accessory",
];
