"""Vocabulary of the synthetic B2B asset library: business units, topics, products, templates.

Kept apart from the generator so the simulation reads as a process and the words as data. All
company and product names are invented.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    """A business unit: short code (as in ``bu_mapping.csv``), name, topics, products.

    Topic ``t`` is sold by product ``t % len(products)``: a visitor reading about a topic is
    the one who later asks for that product's pricing or demo (learnable structure).
    """

    code: str
    name: str
    topics: tuple[str, ...]
    products: tuple[str, ...]


UNITS: tuple[Unit, ...] = (
    Unit("cld", "Cloud Platforms", (
        "Cloud Cost Control", "Multi-Cloud Governance", "Kubernetes at Scale",
        "Serverless Architecture", "Cloud Migration", "Disaster Recovery in the Cloud"),
        ("CloudPilot", "CostLens")),
    Unit("sec", "Security", (
        "Zero-Trust Networking", "Ransomware Readiness", "Identity and Access Management",
        "Cloud Security Posture", "Security Operations Automation", "Third-Party Risk"),
        ("ShieldGrid", "IdentityOne")),
    Unit("dat", "Data & Analytics", (
        "Real-Time Analytics", "Data Governance", "the Modern Data Stack", "Data Quality",
        "Lakehouse Architecture", "Self-Service BI"),
        ("DataForge", "InsightHub")),
    Unit("net", "Networking", (
        "SD-WAN", "Network Observability", "Edge Computing", "Enterprise Wi-Fi 7", "SASE",
        "Network Automation"),
        ("NetWeave", "EdgeLink")),
    Unit("aix", "AI & Automation", (
        "Generative AI in the Enterprise", "MLOps", "Intelligent Document Processing",
        "AI Governance", "Predictive Maintenance", "Conversational AI"),
        ("CortexAI", "DocSense")),
    Unit("dev", "Developer Tools", (
        "Platform Engineering", "CI/CD Pipelines", "API Management", "Developer Productivity",
        "Observability for Developers", "Secure Software Supply Chains"),
        ("BuildFlow", "APIgate")),
    Unit("cx", "Customer Experience", (
        "Customer Journey Analytics", "Omnichannel Support", "Customer Data Platforms",
        "Churn Reduction", "Personalisation at Scale", "Contact Center Modernisation"),
        ("JourneyIQ", "ServiceDesk Pro")),
    Unit("fin", "Finance Operations", (
        "Spend Management", "the Continuous Close", "Revenue Recognition", "FinOps",
        "Procurement Automation", "Cash Flow Forecasting"),
        ("LedgerFlow", "SpendWise")),
)

#: Units whose audiences overlap (a second interest or a second unit of an asset).
RELATED: dict[str, tuple[str, ...]] = {
    "cld": ("dev", "fin", "sec"), "sec": ("net", "cld"), "dat": ("aix", "cx"),
    "net": ("sec", "cld"), "aix": ("dat", "dev"), "dev": ("cld", "aix"),
    "cx": ("dat", "aix"), "fin": ("cld", "dat"),
}

COMPANIES: tuple[str, ...] = (
    "Northwind Logistics", "Acme Health", "Bluepeak Bank", "Contoso Retail", "Helios Energy",
    "Orbital Telecom", "Pinecrest Insurance", "Redwood Manufacturing", "Summit Airlines",
    "Tidewater Foods", "Vantage Media", "Granite Pharma",
)

#: Title templates per asset type: {topic} {product} {company} {unit} {year} {n} {pct}.
TITLES: dict[str, tuple[str, ...]] = {
    "Gated Ebook Forms": (
        "The {year} Guide to {topic}", "{topic}: The Definitive Ebook",
        "The CIO's Playbook for {topic}"),
    "Gated Webinar Forms": (
        "Webinar: {topic} in Practice", "Webinar: Lessons from {n} {topic} Rollouts",
        "Live Panel: The Future of {topic}"),
    "Gated Whitepaper Forms": (
        "Whitepaper: The Economics of {topic}", "Whitepaper: A Reference Architecture for {topic}"),
    "Gated Analyst Report Forms": (
        "Analyst Report: The {topic} Market Landscape {year}",
        "Analyst Report: The Total Economic Impact of {product}"),
    "Gated Case Study Forms": (
        "Case Study: How {company} Mastered {topic}",
        "Case Study: {company} Cuts Costs {pct}% with {product}"),
    "Gated Solution Brief Forms": ("Solution Brief: {product} for {topic}",
                                   "{product} for {topic} at a Glance"),
    "Gated Best Practice Form": ("{n} Best Practices for {topic}",
                                 "Best Practices: Getting {topic} Right"),
    "Gated Infographics Forms": ("Infographic: {topic} by the Numbers",
                                 "Infographic: {n} Stats About {topic}"),
    "Gated Get Pricing": ("Get Pricing: {product}",),
    "Gated DemoNow Forms": ("Request a Demo: {product}",),
    "Unspecified": ("Contact Sales: {unit}", "Newsletter: {unit} Insights"),
    "None": ("Resource Hub: {topic}", "Event Registration: {unit} Summit {year}"),
}

SUMMARIES: dict[str, str] = {
    "Gated Ebook Forms": "A practical guide to {topic}, from first assessment to measurable "
                         "results. Includes checklists your team can use this quarter.",
    "Gated Webinar Forms": "Practitioners walk through {topic} projects from the field and answer "
                           "questions live. Watch on demand in under an hour.",
    "Gated Whitepaper Forms": "An in-depth look at {topic}: architecture choices, trade-offs "
                              "and the numbers behind them.",
    "Gated Analyst Report Forms": "Independent research on {topic} and where {product} fits, "
                                  "with vendor comparisons and buying criteria.",
    "Gated Case Study Forms": "How {company} approached {topic} with {product}, and what "
                              "changed in the first year.",
    "Gated Solution Brief Forms": "A two-page overview of how {product} supports {topic}, with "
                                  "key capabilities and integrations.",
    "Gated Best Practice Form": "Field-tested best practices for {topic}, distilled from "
                                "hundreds of customer deployments.",
    "Gated Infographics Forms": "The key facts about {topic} on one page, ready to share "
                                "with your team.",
    "Gated Get Pricing": "Tell us about your team and get a tailored {product} quote within "
                         "one business day.",
    "Gated DemoNow Forms": "See {product} in action in a 30-minute demo tailored to your "
                           "use case.",
    "Unspecified": "Get in touch with our {unit} team.",
    "None": "Everything we publish about {topic} in one place.",
}
