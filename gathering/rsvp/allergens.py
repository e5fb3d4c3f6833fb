"""Food allergens (食品表示基準) and diets as data, so a change in the law is a data change.

Codes are part of the API (API.md). Labels are kept here in both languages rather than in
the catalogs: they are legal vocabulary that families know, and the Japanese wording must
stay exactly that of the Consumer Affairs Agency's list.

Mandatory (特定原材料, 8 items since 2025-04-01) come first; the recommended 20
(特定原材料に準ずるもの, since 2024-03) follow. To follow a change (e.g. カシューナッツ
becoming mandatory), flip ``mandatory`` or add a row; stored codes stay valid.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    code: str
    ja: str
    en: str
    mandatory: bool = False

    def label(self, lang: str = "ja") -> str:
        return self.en if lang == "en" else self.ja


ALLERGENS: tuple[Item, ...] = (
    Item("shrimp", "えび", "Shrimp", True),
    Item("crab", "かに", "Crab", True),
    Item("walnut", "くるみ", "Walnut", True),
    Item("wheat", "小麦", "Wheat", True),
    Item("buckwheat", "そば", "Buckwheat", True),
    Item("egg", "卵", "Egg", True),
    Item("milk", "乳", "Milk", True),
    Item("peanut", "落花生（ピーナッツ）", "Peanut", True),
    Item("almond", "アーモンド", "Almond"),
    Item("abalone", "あわび", "Abalone"),
    Item("squid", "いか", "Squid"),
    Item("salmon_roe", "いくら", "Salmon roe"),
    Item("orange", "オレンジ", "Orange"),
    Item("cashew", "カシューナッツ", "Cashew"),
    Item("kiwi", "キウイフルーツ", "Kiwi fruit"),
    Item("beef", "牛肉", "Beef"),
    Item("sesame", "ごま", "Sesame"),
    Item("salmon", "さけ", "Salmon"),
    Item("mackerel", "さば", "Mackerel"),
    Item("soybean", "大豆", "Soybean"),
    Item("chicken", "鶏肉", "Chicken"),
    Item("banana", "バナナ", "Banana"),
    Item("pork", "豚肉", "Pork"),
    Item("macadamia", "マカダミアナッツ", "Macadamia nut"),
    Item("peach", "もも", "Peach"),
    Item("yam", "やまいも", "Yam"),
    Item("apple", "りんご", "Apple"),
    Item("gelatin", "ゼラチン", "Gelatin"),
)

DIETS: tuple[Item, ...] = (
    Item("vegetarian", "ベジタリアン", "Vegetarian"),
    Item("vegan", "ヴィーガン（動物性食品なし）", "Vegan"),
    Item("no_pork", "豚肉なし", "No pork"),
    Item("halal", "ハラール", "Halal"),
    Item("no_beef", "牛肉なし", "No beef"),
    Item("no_alcohol", "アルコール（みりん・酒）なし", "No alcohol (incl. mirin, sake)"),
    Item("soft_food", "やわらかい食事・刻み食", "Soft or finely chopped food"),
)

ALLERGEN_CODES = frozenset(a.code for a in ALLERGENS)
DIET_CODES = frozenset(d.code for d in DIETS)
_BY_CODE = {i.code: i for i in ALLERGENS + DIETS}


def mandatory_allergens() -> tuple[Item, ...]:
    return tuple(a for a in ALLERGENS if a.mandatory)


def recommended_allergens() -> tuple[Item, ...]:
    return tuple(a for a in ALLERGENS if not a.mandatory)


def label(code: str, lang: str = "ja") -> str:
    """The label of an allergen or diet code; an unknown (retired) code shows as itself."""
    item = _BY_CODE.get(code)
    return item.label(lang) if item else code


def ordered(codes) -> list[str]:
    """Codes in the order of the lists above (mandatory allergens first), unknown last."""
    order = {item.code: i for i, item in enumerate(ALLERGENS + DIETS)}
    return sorted(set(codes or ()), key=lambda c: (order.get(c, len(order)), c))
