"""Catalogue half of the synthetic shop generator (see :mod:`ml.synth`).

Holds the word lists (departments, leaf categories, brands, materials, features, people's
names) and turns them into a category tree and a product table with per-category price levels, brand price
tiers, Zipf-like popularity and planted complement products. Everything is driven by the
``numpy.random.Generator`` passed in, so the result is a pure function of the seed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np
import pandas as pd

class Leaf(NamedTuple):
    """A leaf category: product nouns, base price (EUR), qualifier and material words."""

    key: str
    name: str
    nouns: tuple[str, ...]
    price: float
    qualifiers: tuple[str, ...]
    materials: tuple[str, ...]


class Department(NamedTuple):
    """A top-level category with its brands, description phrases, SKU-variant style and leaves."""

    key: str
    name: str
    brands: tuple[str, ...]
    features: tuple[str, ...]
    uses: tuple[str, ...]
    variants: tuple[str, ...]
    numbers: tuple[int, int]
    leaves: tuple[Leaf, ...]


_L = Leaf  # short alias keeps the table below readable
# Leaves that form complement pairs come first so that small configs keep them.
DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "electronics", "Electronics", ("Nordvik", "Voltara", "Lumex", "Kestrel", "Aurion", "Zentek", "Pixelon"),
        ("a two-year warranty", "a minimalist design", "premium build quality", "a quick setup",
         "travel-friendly dimensions"),
        ("work, travel and everyday use", "streaming and gaming", "creators on the move"),
        ("X", "S", "Z", "V"), (100, 999),
        (_L("laptops", "Laptops", ("Laptop", "Notebook"), 899.0, ("Ultrabook", "Gaming", "Business", "Convertible"),
            ("a brushed aluminium chassis", "a magnesium-alloy body")),
         _L("laptop-bags", "Laptop Bags", ("Laptop Bag", "Laptop Backpack", "Laptop Sleeve"), 49.0,
            ("Padded", "Water-Resistant", "Slim", "Commuter"), ("recycled polyester", "waxed canvas", "neoprene")),
         _L("smartphones", "Smartphones", ("Smartphone",), 549.0, ("5G", "Dual-SIM", "Compact", "Flagship"),
            ("toughened glass", "an aluminium frame")),
         _L("phone-cases", "Phone Cases", ("Phone Case",), 19.0, ("Rugged", "Slim", "Wallet", "Grip"),
            ("shock-absorbing silicone", "vegan leather", "recycled plastic")),
         _L("headphones", "Headphones", ("Headphones", "Earbuds"), 89.0,
            ("Wireless", "Noise-Cancelling", "Over-Ear", "Sport"),
            ("memory-foam cushions", "soft-touch silicone")),
         _L("cameras", "Cameras", ("Mirrorless Camera", "Action Camera"), 649.0,
            ("4K", "Weatherproof", "Travel", "Vlogging"),
            ("a weather-sealed magnesium body", "a textured grip")),
         _L("memory-cards", "Memory Cards", ("Memory Card", "microSD Card"), 24.0,
            ("High-Speed", "128GB", "256GB", "Endurance"),
            ("waterproof housing", "shock-proof housing")),
         _L("smartwatches", "Smartwatches", ("Smartwatch", "Fitness Watch"), 229.0,
            ("GPS", "AMOLED", "Sport", "Hybrid"),
            ("a sapphire glass face", "a stainless steel case")),
         _L("bluetooth-speakers", "Bluetooth Speakers", ("Bluetooth Speaker",), 79.0,
            ("Portable", "Waterproof", "Party", "Mini"),
            ("a rugged fabric shell", "a rubberised body")))),
    Department(
        "home-kitchen", "Home & Kitchen", ("Hearthly", "Casa Verde", "Copperleaf", "Oakmere", "Brightwell", "Kitchora"),
        ("easy-care materials", "a timeless design", "everyday durability", "a space-saving shape"),
        ("busy weeknights", "weekend projects", "small apartments"), ("No. ", "Series "), (1, 99),
        (_L("coffee-makers", "Coffee Makers", ("Coffee Maker", "Espresso Machine"), 129.0,
            ("Programmable", "Compact", "Barista", "Thermal"), ("stainless steel", "borosilicate glass")),
         _L("coffee-beans", "Coffee Beans", ("Coffee Beans", "Ground Coffee"), 16.0,
            ("Single-Origin", "Dark Roast", "Medium Roast", "Organic"), ("Arabica beans", "shade-grown beans")),
         _L("cookware", "Cookware", ("Frying Pan", "Saucepan", "Casserole Dish"), 59.0,
            ("Non-Stick", "Induction-Ready", "Oven-Safe", "Everyday"),
            ("cast iron", "tri-ply stainless steel", "enamelled steel")),
         _L("kitchen-utensils", "Kitchen Utensils", ("Utensil Set", "Spatula Set"), 19.0,
            ("Heat-Resistant", "Everyday", "Professional", "5-Piece"), ("food-grade silicone", "bamboo", "olive wood")),
         _L("knives", "Knives", ("Chef's Knife", "Knife Set", "Santoku Knife"), 69.0,
            ("Forged", "Damascus", "Japanese", "Precision"), ("high-carbon steel", "Damascus steel")),
         _L("cutting-boards", "Cutting Boards", ("Cutting Board", "Chopping Block"), 29.0,
            ("Reversible", "Large", "Juice-Groove", "Everyday"), ("end-grain walnut", "acacia wood", "bamboo")),
         _L("bedding", "Bedding", ("Duvet Cover", "Sheet Set"), 59.0, ("Percale", "Sateen", "Washed", "Breathable"),
            ("organic cotton", "stonewashed linen")),
         _L("lamps", "Lamps", ("Table Lamp", "Floor Lamp", "Desk Lamp"), 69.0,
            ("Dimmable", "Minimalist", "Vintage", "LED"),
            ("brushed brass", "matte ceramic", "powder-coated steel")))),
    Department(
        "fashion", "Fashion", ("Marlowe", "Thread & Co", "Velour", "Ashby", "Kintsu", "Solenne", "Bramwell"),
        ("a comfortable fit", "careful stitching", "a timeless cut", "easy care"),
        ("the office and the weekend", "everyday wear", "special occasions"), ("", "Style "), (100, 999),
        (_L("jeans", "Jeans", ("Jeans",), 69.0, ("Slim-Fit", "Straight-Leg", "Relaxed", "Stretch"),
            ("stretch denim", "organic cotton denim")),
         _L("belts", "Belts", ("Belt",), 29.0, ("Classic", "Reversible", "Braided", "Slim"),
            ("full-grain leather", "woven canvas")),
         _L("dresses", "Dresses", ("Dress", "Midi Dress", "Wrap Dress"), 79.0,
            ("Floral", "Evening", "Summer", "Belted"),
            ("flowing viscose", "linen", "silk-blend satin")),
         _L("handbags", "Handbags", ("Handbag", "Tote Bag", "Crossbody Bag"), 99.0,
            ("Structured", "Quilted", "Everyday", "Mini"),
            ("pebbled leather", "vegan leather", "heavy canvas")),
         _L("sneakers", "Sneakers", ("Sneakers",), 89.0, ("Low-Top", "High-Top", "Retro", "Everyday"),
            ("suede and leather", "organic canvas")),
         _L("t-shirts", "T-Shirts", ("T-Shirt",), 24.0, ("Oversized", "Crew-Neck", "Graphic", "Relaxed"),
            ("organic cotton", "slub jersey")),
         _L("sunglasses", "Sunglasses", ("Sunglasses",), 119.0, ("Polarised", "Aviator", "Round", "Sport"),
            ("acetate frames", "titanium frames")),
         _L("watches", "Watches", ("Wristwatch", "Chronograph"), 179.0, ("Automatic", "Minimalist", "Diver", "Dress"),
            ("a stainless steel case", "a sapphire crystal")))),
    Department(
        "sports-outdoors", "Sports & Outdoors",
        ("Trailhawk", "Summitor", "Peakline", "Stridex", "Aqualis", "Borealis", "Ridgeway"),
        ("lightweight construction", "reinforced seams", "a packable design", "all-weather durability"),
        ("daily training", "weekend adventures", "race day"), ("", "GT-", "Trail "), (1, 30),
        (_L("running-shoes", "Running Shoes", ("Running Shoes", "Trail Running Shoes"), 119.0,
            ("Cushioned", "Lightweight", "Stability", "Carbon-Plated"), ("breathable mesh", "responsive EVA foam")),
         _L("sports-socks", "Sports Socks", ("Running Socks", "Sports Socks"), 14.0,
            ("Moisture-Wicking", "Compression", "Merino", "Ankle"), ("merino wool", "moisture-wicking nylon")),
         _L("yoga-mats", "Yoga Mats", ("Yoga Mat",), 39.0, ("Non-Slip", "Extra-Thick", "Travel", "Eco"),
            ("natural rubber", "TPE foam", "cork")),
         _L("yoga-blocks", "Yoga Blocks", ("Yoga Block", "Yoga Strap"), 15.0,
            ("Supportive", "Lightweight", "Non-Slip", "Twin-Pack"),
            ("natural cork", "high-density foam", "cotton webbing")),
         _L("tents", "Tents", ("Tent", "Backpacking Tent"), 229.0,
            ("2-Person", "4-Person", "Ultralight", "Four-Season"),
            ("ripstop nylon", "aluminium poles")),
         _L("sleeping-bags", "Sleeping Bags", ("Sleeping Bag",), 119.0,
            ("Three-Season", "Compact", "Mummy", "Lightweight"),
            ("responsibly sourced down", "synthetic insulation")),
         _L("bikes", "Bikes", ("Road Bike", "Mountain Bike", "Gravel Bike"), 1099.0,
            ("Endurance", "Hardtail", "Lightweight", "Commuter"),
            ("a carbon fibre frame", "a hydroformed aluminium frame")),
         _L("bike-helmets", "Bike Helmets", ("Bike Helmet",), 79.0, ("Aero", "Ventilated", "Commuter", "MIPS"),
            ("an in-mould polycarbonate shell", "EPS foam")))),
    Department(
        "books-media", "Books & Media",
        ("Inkwell Press", "Harbor Books", "Meridian House", "Quillstone", "Lanternfish", "Northlight"),
        ("beautiful cover art", "a foreword by the author", "gift-ready packaging", "hours of enjoyment"),
        ("quiet evenings", "family game nights", "gifting"), ("Vol. ", "Edition "), (1, 12),
        (_L("e-readers", "E-Readers", ("E-Reader",), 139.0, ("Waterproof", "Backlit", "Compact", "Large-Screen"),
            ("a glare-free e-ink screen", "a recycled plastic body")),
         _L("e-reader-covers", "E-Reader Covers", ("E-Reader Cover", "E-Reader Sleeve"), 25.0,
            ("Folio", "Magnetic", "Sleep-Wake", "Slim"),
            ("vegan leather", "felt", "recycled fabric")),
         _L("novels", "Novels", ("Novel", "Paperback Novel"), 15.0, ("Mystery", "Fantasy", "Literary", "Thriller"),
            ("recycled paper", "a linen-bound cover")),
         _L("cookbooks", "Cookbooks", ("Cookbook",), 28.0, ("Vegetarian", "Italian", "Baking", "Weeknight"),
            ("lay-flat binding", "full-colour photography")),
         _L("board-games", "Board Games", ("Board Game", "Card Game"), 39.0,
            ("Strategy", "Family", "Cooperative", "Party"),
            ("wooden pieces", "linen-finish cards")),
         _L("vinyl-records", "Vinyl Records", ("Vinyl Record", "LP"), 29.0,
            ("Jazz", "Indie", "Classic Rock", "Soundtrack"),
            ("180-gram vinyl", "a gatefold sleeve")),
         _L("childrens-books", "Children's Books", ("Picture Book", "Children's Book"), 12.0,
            ("Bedtime", "Illustrated", "Rhyming", "Lift-the-Flap"), ("sturdy board pages", "wipe-clean pages")),
         _L("puzzles", "Puzzles", ("Jigsaw Puzzle",), 22.0, ("1000-Piece", "Panoramic", "Landscape", "Art"),
            ("thick recycled board", "linen-finish pieces")))),
    Department(
        "beauty", "Beauty", ("Lumiere", "Botanique", "Velvetine", "Aurelle", "Purea", "Skinward"),
        ("dermatologist-tested ingredients", "a cruelty-free formula", "recyclable packaging", "a lightweight texture"),
        ("morning and evening routines", "sensitive skin", "an everyday glow"), ("No. ", ""), (1, 20),
        (_L("shampoos", "Shampoos", ("Shampoo",), 14.0, ("Volumising", "Sulfate-Free", "Repair", "Clarifying"),
            ("argan oil", "rice protein", "tea tree oil")),
         _L("conditioners", "Conditioners", ("Conditioner",), 14.0, ("Smoothing", "Hydrating", "Repair", "Leave-In"),
            ("shea butter", "argan oil", "keratin")),
         _L("cleansers", "Cleansers", ("Cleanser", "Face Wash"), 18.0, ("Gentle", "Foaming", "Gel", "Balancing"),
            ("green tea extract", "salicylic acid", "aloe vera")),
         _L("moisturizers", "Moisturizers", ("Moisturiser", "Face Cream"), 32.0,
            ("Hydrating", "SPF 30", "Night", "Sensitive"),
            ("hyaluronic acid", "ceramides", "squalane")),
         _L("perfumes", "Perfumes", ("Eau de Parfum", "Eau de Toilette"), 79.0, ("Floral", "Woody", "Citrus", "Amber"),
            ("notes of bergamot and cedar", "notes of jasmine and musk")),
         _L("makeup-brushes", "Makeup Brushes", ("Makeup Brush Set", "Foundation Brush"), 29.0,
            ("Vegan", "Travel", "Pro", "Soft"),
            ("synthetic taklon bristles", "bamboo handles")),
         _L("lipsticks", "Lipsticks", ("Lipstick", "Lip Gloss"), 22.0, ("Matte", "Satin", "Long-Wear", "Tinted"),
            ("vitamin E", "jojoba oil")))),
    Department(
        "pet-supplies", "Pet Supplies", ("Pawsome", "Barkley", "Whisker & Co", "Tailwind", "Furbelle", "Kibblecraft"),
        ("pet-safe materials", "easy cleaning", "a durable build", "vet-recommended quality"),
        ("puppies and seniors alike", "daily walks", "indoor cats"), ("", "Size "), (1, 9),
        (_L("dog-food", "Dog Food", ("Dog Food", "Puppy Food"), 49.0, ("Grain-Free", "Salmon", "Chicken", "Senior"),
            ("real salmon", "free-range chicken")),
         _L("dog-bowls", "Dog Bowls", ("Dog Bowl", "Slow Feeder Bowl"), 19.0,
            ("Non-Slip", "Elevated", "Anti-Gulp", "Everyday"),
            ("glazed ceramic", "stainless steel")),
         _L("cat-food", "Cat Food", ("Cat Food",), 39.0, ("Indoor", "Tuna", "Kitten", "Sensitive"),
            ("wild tuna", "turkey and rice")),
         _L("cat-litter", "Cat Litter", ("Cat Litter",), 19.0, ("Clumping", "Unscented", "Silica", "Natural"),
            ("natural clay", "silica crystals", "recycled paper")),
         _L("dog-leashes", "Dog Leashes", ("Dog Leash", "Dog Harness"), 29.0,
            ("Reflective", "Retractable", "Padded", "Hands-Free"),
            ("durable nylon webbing", "padded neoprene")),
         _L("dog-beds", "Dog Beds", ("Dog Bed",), 69.0, ("Orthopaedic", "Calming", "Waterproof", "Donut"),
            ("memory foam", "faux fur")),
         _L("cat-toys", "Cat Toys", ("Cat Toy", "Scratching Post"), 24.0, ("Interactive", "Feather", "Catnip", "Sisal"),
            ("natural sisal", "organic catnip")))),
)

FIRST_NAMES = ("Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Katja",
               "Lukas", "Maya", "Noah", "Olivia", "Paul", "Rosa", "Samuel", "Tara", "Victor", "Wendy", "Yusuf",
               "Zoe", "Adrian", "Bianca", "Carlos", "Diana", "Emil", "Fatima", "George", "Hannah", "Isaac",
               "Julia", "Karim", "Laura", "Marco", "Nina", "Oscar", "Priya", "Quentin", "Ruth", "Sofia", "Tom",
               "Uma", "Valentin", "William", "Ximena", "Yara")
LAST_NAMES = ("Andersen", "Becker", "Costa", "Dubois", "Eriksson", "Fischer", "Garcia", "Hansen", "Ivanova",
              "Jensen", "Kowalski", "Larsen", "Martin", "Nielsen", "Novak", "Olsen", "Petrov", "Quinn", "Rossi",
              "Schmidt", "Tanaka", "Usman", "Vargas", "Weber", "Young", "Zimmermann", "Bauer", "Moreau",
              "Keller", "Lindqvist", "Meyer", "Nowak", "Patel", "Romano", "Santos", "Turner", "Walsh",
              "Horvat", "Kim", "Lopez", "Murphy", "Nguyen", "Okafor", "Berg", "Carter", "Dalton", "Ellis", "Ford")
# Directed complement pairs (primary leaf -> accessory leaf); active when both leaves exist.
COMPLEMENT_LEAVES: tuple[tuple[str, str], ...] = (
    ("laptops", "laptop-bags"), ("smartphones", "phone-cases"), ("cameras", "memory-cards"),
    ("coffee-makers", "coffee-beans"), ("cookware", "kitchen-utensils"), ("knives", "cutting-boards"),
    ("jeans", "belts"), ("dresses", "handbags"), ("running-shoes", "sports-socks"),
    ("yoga-mats", "yoga-blocks"), ("tents", "sleeping-bags"), ("bikes", "bike-helmets"),
    ("e-readers", "e-reader-covers"), ("shampoos", "conditioners"), ("cleansers", "moisturizers"),
    ("dog-food", "dog-bowls"), ("cat-food", "cat-litter"), ("cookbooks", "cookware"),
)
TIER_WORDS = ("Pro", "Ultra", "Classic", "Essential", "Max", "Lite", "Prime", "Air", "Elite", "Core", "Plus", "Studio")
ZIPF_EXPONENT = 1.1          # popularity ~ 1 / rank**s within a category
PRICE_SIGMA = 0.35           # lognormal spread of prices around the category level
INACTIVE_SHARE, SOLD_OUT_SHARE, LOW_STOCK_SHARE = 0.02, 0.03, 0.04
P_SAME_BRAND_COMPLEMENT = 0.6  # accessories of a brand's products come from the same brand when it has any


@dataclass
class Catalog:
    """Category tree and products plus the latent arrays the shopper simulation needs.

    Arrays are indexed by internal product position; products are stored contiguously by
    leaf so that per-category sampling is a single ``searchsorted`` on cumulative weights.
    """

    categories: pd.DataFrame
    products: pd.DataFrame
    complements: pd.DataFrame
    leaf_keys: np.ndarray        # leaf index -> slug
    leaf_dept: np.ndarray        # leaf index -> department index
    leaf_level: np.ndarray       # leaf index -> price level
    leaf_popularity: np.ndarray  # leaf index -> share of traffic (sums to 1)
    leaf_offsets: np.ndarray     # products of leaf c are [offsets[c], offsets[c + 1])
    brand_names: np.ndarray      # global brand index -> name
    brand_dept: np.ndarray       # global brand index -> department index
    product_leaf: np.ndarray
    product_brand: np.ndarray
    log_price_ratio: np.ndarray  # log(price / leaf level): where the item sits in its category
    popularity: np.ndarray       # within-leaf Zipf weight (inactive items damped)
    buyable: np.ndarray          # active and in stock
    complement: np.ndarray       # complement product index or -1
    skus: np.ndarray             # object array of SKU strings


def article(word: str) -> str:
    """Return "a" or "an" for ``word`` so generated descriptions read naturally."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def soft_lower(words: str) -> str:
    """Lower-case words mid-sentence but keep acronyms and sizes (4K, LED, microSD, 128GB)."""
    return " ".join(w if re.search(r"[A-Z]{2}|\d", w) else w.lower() for w in words.split())


def select_leaves(n_departments: int, n_categories: int) -> list[tuple[int, Leaf]]:
    """Spread ``n_categories`` leaves round-robin over the first ``n_departments`` departments."""
    if not 1 <= n_departments <= len(DEPARTMENTS):
        raise ValueError(f"n_departments must be in [1, {len(DEPARTMENTS)}]")
    capacity = [len(DEPARTMENTS[d].leaves) for d in range(n_departments)]
    if not n_departments <= n_categories <= sum(capacity):
        raise ValueError(f"n_categories must be in [{n_departments}, {sum(capacity)}]")
    taken = [0] * n_departments
    d = 0
    for _ in range(n_categories):
        while taken[d] >= capacity[d]:
            d = (d + 1) % n_departments
        taken[d] += 1
        d = (d + 1) % n_departments
    return [(d, DEPARTMENTS[d].leaves[i]) for d in range(n_departments) for i in range(taken[d])]


def _split_counts(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Largest-remainder split of ``total`` items proportional to ``weights`` with a floor."""
    floor = min(minimum, total // len(weights))
    rest = total - floor * len(weights)
    raw = weights / weights.sum() * rest
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(-(raw - counts), kind="stable")[: rest - counts.sum()]] += 1
    return counts + floor


def _nice_prices(raw: np.ndarray) -> np.ndarray:
    """Round to shop-like prices: x.99 from 10 up, x.49/x.99 below, never below 0.99."""
    cheap = np.maximum(np.round(raw * 2) / 2 - 0.01, 0.99)
    return np.round(np.where(raw >= 10, np.round(raw) - 0.01, cheap), 2)


def _describe(rng: np.random.Generator, dept: Department, leaf: Leaf, brand: str, qual: str, noun: str) -> str:
    """One to three sentences: the item and its material, then optional features and use."""
    plural = noun.endswith("s") and not noun.endswith("ss")
    head = f"{soft_lower(qual)} {soft_lower(noun)}"
    head = head if plural else f"{article(qual)} {head}"
    text = f"{head[0].upper()}{head[1:]} from {brand}, made with {leaf.materials[rng.integers(len(leaf.materials))]}."
    if rng.random() < 0.8:
        f1, f2 = rng.choice(len(dept.features), size=2, replace=False)
        text += f" {'They feature' if plural else 'It features'} {dept.features[f1]} and {dept.features[f2]}."
    if rng.random() < 0.5:
        text += f" Ideal for {dept.uses[rng.integers(len(dept.uses))]}."
    return text


def _product_texts(rng: np.random.Generator, leaves: list[tuple[int, Leaf]], product_leaf: np.ndarray,
                   brand_names: np.ndarray, product_brand: np.ndarray) -> tuple[list[str], list[str]]:
    """Unique names ("Brand Tier Qualifier Noun Variant") and 1-3 sentence descriptions."""
    names: list[str] = []
    descriptions: list[str] = []
    seen: set[str] = set()
    for i, leaf_idx in enumerate(product_leaf.tolist()):
        dept_idx, leaf = leaves[leaf_idx]
        dept = DEPARTMENTS[dept_idx]
        brand = str(brand_names[product_brand[i]])
        noun, qual = leaf.nouns[rng.integers(len(leaf.nouns))], leaf.qualifiers[rng.integers(len(leaf.qualifiers))]
        tier = TIER_WORDS[rng.integers(len(TIER_WORDS))]
        lo, hi = dept.numbers
        for attempt in range(200):  # widen the number range when a block of draws keeps colliding
            number = int(rng.integers(lo, hi + 1)) + (hi + 1) * (attempt // 20)
            name = f"{brand} {tier} {qual} {noun} {dept.variants[rng.integers(len(dept.variants))]}{number}"
            if name not in seen:
                break
        else:
            name = f"{name}-{i}"
        seen.add(name)
        names.append(name)
        descriptions.append(_describe(rng, dept, leaf, brand, qual, noun))
    return names, descriptions


def _plant_complements(rng: np.random.Generator, leaf_keys: list[str], offsets: np.ndarray,
                       brand: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Give each product of a primary leaf one accessory in the partner leaf (same brand if possible)."""
    complement = np.full(len(brand), -1, dtype=np.int64)
    for primary, accessory in COMPLEMENT_LEAVES:
        if primary not in leaf_keys or accessory not in leaf_keys:
            continue
        a, b = leaf_keys.index(primary), leaf_keys.index(accessory)
        src, dst = np.arange(offsets[a], offsets[a + 1]), np.arange(offsets[b], offsets[b + 1])
        for brand_id in np.unique(brand[src]):
            items = src[brand[src] == brand_id]
            pool = dst[brand[dst] == brand_id] if rng.random() < P_SAME_BRAND_COMPLEMENT else dst
            pool = pool if len(pool) else dst
            p = weight[pool] / weight[pool].sum() if weight[pool].sum() > 0 else None
            complement[items] = rng.choice(pool, size=len(items), p=p)
    return complement


def build_catalog(rng: np.random.Generator, n_departments: int, n_categories: int, n_products: int,
                  end: datetime) -> Catalog:
    """Create departments, leaves, brands and products with prices, stock and popularity."""
    leaves = select_leaves(n_departments, n_categories)
    leaf_keys = [leaf.key for _, leaf in leaves]
    leaf_dept = np.array([d for d, _ in leaves], dtype=np.int64)
    leaf_level = np.round(np.array([leaf.price for _, leaf in leaves]) * np.exp(rng.normal(0, 0.1, len(leaves))), 2)
    leaf_popularity = rng.gamma(2.0, 1.0, len(leaves))
    leaf_popularity /= leaf_popularity.sum()
    cat_rows = []
    for d in range(n_departments):
        cat_rows.append((DEPARTMENTS[d].key, DEPARTMENTS[d].name, None, np.nan))
        cat_rows += [(lf.key, lf.name, DEPARTMENTS[d].key, float(leaf_level[i]))
                     for i, (dd, lf) in enumerate(leaves) if dd == d]
    categories = pd.DataFrame(cat_rows, columns=["key", "name", "parent_key", "price_level"])
    categories["parent_key"] = pd.Series([r[2] for r in cat_rows], dtype=object)

    brand_names = np.array([b for d in range(n_departments) for b in DEPARTMENTS[d].brands], dtype=object)
    brand_dept = np.array([d for d in range(n_departments) for _ in DEPARTMENTS[d].brands], dtype=np.int64)
    brand_pop, brand_tier = rng.gamma(1.5, 1.0, len(brand_names)), np.exp(rng.normal(0, 0.25, len(brand_names)))

    counts = _split_counts(n_products, rng.gamma(4.0, 1.0, len(leaves)), minimum=3)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    product_leaf = np.repeat(np.arange(len(leaves)), counts)
    product_brand = np.empty(n_products, dtype=np.int64)
    popularity = np.empty(n_products)
    for c in range(len(leaves)):
        brands = np.flatnonzero(brand_dept == leaf_dept[c])
        weights = brand_pop[brands] / brand_pop[brands].sum()
        product_brand[offsets[c]:offsets[c + 1]] = rng.choice(brands, size=counts[c], p=weights)
        popularity[offsets[c]:offsets[c + 1]] = 1.0 / (1.0 + rng.permutation(counts[c])) ** ZIPF_EXPONENT
    noise = np.exp(rng.normal(0, PRICE_SIGMA, n_products))
    price = _nice_prices(leaf_level[product_leaf] * brand_tier[product_brand] * noise)
    u = rng.random(n_products)
    stock = np.where(u < SOLD_OUT_SHARE, 0, np.where(u < SOLD_OUT_SHARE + LOW_STOCK_SHARE,
                                                     rng.integers(1, 5, n_products), rng.integers(5, 201, n_products)))
    active = rng.random(n_products) >= INACTIVE_SHARE
    popularity = np.where(active, popularity, 0.3 * popularity)
    buyable = active & (stock > 0)
    created = np.datetime64(end, "s") - rng.integers(1, 365 * 86400, n_products).astype("timedelta64[s]")
    skus = np.array([f"SKU-{n:06d}" for n in rng.permutation(n_products) + 1], dtype=object)
    names, descriptions = _product_texts(rng, leaves, product_leaf, brand_names, product_brand)
    complement = _plant_complements(rng, leaf_keys, offsets, product_brand, popularity * buyable)
    products = pd.DataFrame({
        "sku": skus, "name": names, "description": descriptions, "brand": brand_names[product_brand],
        "price": price, "stock": stock.astype(np.int64),
        "category_key": np.array(leaf_keys, dtype=object)[product_leaf],
        "created_at": created.astype("datetime64[ns]"), "active": active,
    })
    has = complement >= 0
    complements = pd.DataFrame({"sku": skus[has], "complement_sku": skus[complement[has]]})
    return Catalog(categories, products, complements, np.array(leaf_keys, dtype=object), leaf_dept, leaf_level,
                   leaf_popularity, offsets, brand_names, brand_dept, product_leaf, product_brand,
                   np.log(price / leaf_level[product_leaf]), popularity, buyable, complement, skus)


def people(rng: np.random.Generator, n: int, domain: str, prefix: str, seen: set[str]) -> tuple[list[str], list[str]]:
    """Names and unique "first.last123@domain" emails (retries on collision, widening the number)."""
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    names, emails = [], []
    for f, g in zip(first.tolist(), last.tolist()):
        attempt = 0
        while True:
            number = int(rng.integers(1, 1000 * (1 + attempt // 20)))
            email = f"{prefix}{FIRST_NAMES[f].lower()}.{LAST_NAMES[g].lower()}{number}@{domain}"
            attempt += 1
            if email not in seen:
                break
        seen.add(email)
        names.append(f"{FIRST_NAMES[f]} {LAST_NAMES[g]}")
        emails.append(email)
    return names, emails


def shift_created_at(products: pd.DataFrame, first_event: np.ndarray, rng: np.random.Generator) -> None:
    """Move ``created_at`` (in place) before a product's first event, so no item is seen before it exists.

    Products never seen keep their draw from the year before ``end``; seen ones move 1 h to
    30 days before their first event when their draw was later than that.
    """
    lead = rng.integers(3600, 30 * 86400, len(products)).astype("timedelta64[s]")
    bound = first_event - lead
    created = products["created_at"].to_numpy()
    moved = np.where(np.isnat(first_event), created, np.minimum(created, bound))
    products["created_at"] = moved.astype("datetime64[ns]")


__all__ = ["Catalog", "build_catalog", "people", "shift_created_at", "select_leaves", "DEPARTMENTS",
           "COMPLEMENT_LEAVES"]
