"""Word lists of the synthetic shop (see :mod:`ml.synth.catalog`): departments with their leaf
categories, brands and describing words, people's names, complement category pairs.

Pure data, kept apart from the code that draws from it.
"""
from __future__ import annotations

from typing import NamedTuple


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
