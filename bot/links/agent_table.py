"""Every shopping agent the bot reads and writes: one row per agent.

A row names the agent's own hosts (subdomains count; lookalikes never do),
its short-link hosts, the forms its item pages take (``bot.links.agent_forms``:
each form reads a pasted page and writes one for an item), and the query
parameter its referral codes go in. Reading and writing use the same rows.

Adding an agent is adding a row here and a sample link in
``tests/test_agents.py``; ``python -m scripts.agents_readme`` then rewrites
the README's list.

Sources: the agents' own published link shapes, as collected by the ``cn-links``
library (its 34 agents) and by open-source link converters of the reps
communities (LitBuy, Sinabuy, OOTDBuy, NPBuy, MyCNBox, Niuniubox, Wemimi,
Pantherbuy).
"""

from __future__ import annotations

import re

from bot.items.item import Platform
from bot.links.agent_forms import Agent, PathItem, QueryItem, WrappedUrl

TB, TM, AL, WD = Platform.TAOBAO, Platform.TMALL, Platform.ALI1688, Platform.WEIDIAN


def _any(source: str = r".*") -> re.Pattern[str]:
    return re.compile(source, re.IGNORECASE | re.DOTALL)


# Agents that number marketplaces: 0 = 1688, 1 = Taobao, 2 = Weidian.
_HOOBUY_CODES = {AL: "0", TB: "1", TM: "1", WD: "2"}
# Spellings of the CNFans family.
_UPPER_CODES = {TB: "TAOBAO", TM: "TAOBAO", WD: "WEIDIAN", AL: "ALI_1688"}
_LOWER_CODES = {TB: "taobao", TM: "taobao", WD: "weidian", AL: "ali_1688"}
# Product pages of the CNFans family: ``/product/``, ``/fr/product/``, the
# mobile ``/pages/product/product``; a shop page with the same parameters is no item.
_CNFANS_PATH = _any(r"(?:/[\w-]+)*/product/?")
# ``/product/{code}/{id}``, ``/products/…`` and the mobile ``/m/product/…``.
_CODE_PATH = r"/(?:m/)?products?/(?P<code>[a-z0-9_]{1,10})/(?P<id>\d{1,20})/?"
_SEARCH_INPUT = (("from", "search-input"),)


def _cnfans_like(host: str, page: str, *, shop_type_first: bool, popular: bool = False) -> Agent:
    """The CNFans family: one page, ``platform=TAOBAO`` or ``shop_type=taobao``."""
    slug = host.split(".", 1)[0]
    if shop_type_first:
        form = QueryItem(
            page,
            _LOWER_CODES,
            platform_param="shop_type",
            platform_first=True,
            path=_CNFANS_PATH,
            platform_names=("platform", "shoptype"),
        )
    else:
        form = QueryItem(
            page, _UPPER_CODES, path=_CNFANS_PATH, platform_names=("shop_type", "shoptype")
        )
    names = {"cnfans": "CNFans", "mulebuy": "Mulebuy", "joyagoo": "Joyagoo"}
    name = names.get(slug, slug.capitalize())
    return Agent(slug, name, (host,), (form,), referral="ref", popular=popular)


AGENTS: tuple[Agent, ...] = (
    Agent(
        "kakobuy",
        "Kakobuy",
        ("kakobuy.com",),
        (WrappedUrl("https://www.kakobuy.com/item/details"),),
        referral="affcode",
        short_hosts=("ikako.vip", "sl.kakobuy.com"),
        popular=True,
    ),
    _cnfans_like("cnfans.com", "https://cnfans.com/product", shop_type_first=False, popular=True),
    Agent(
        "acbuy",
        "ACBuy",
        ("acbuy.com",),
        (
            QueryItem(
                "https://www.acbuy.com/product/",
                {TB: "TB", TM: "TB", WD: "WD", AL: "AL"},
                platform_param="source",
                platform_names=("shop_type", "platform"),
                path=_any(),
            ),
            WrappedUrl("https://www.acbuy.com/en/page/buy/", writes=False),
        ),
        referral="u",
        short_hosts=("link.acbuy.com",),
        popular=True,
    ),
    _cnfans_like("mulebuy.com", "https://mulebuy.com/product", shop_type_first=False, popular=True),
    Agent(
        "hoobuy",
        "Hoobuy",
        ("hoobuy.com",),
        (
            PathItem(
                "https://www.hoobuy.com/product/{code}/{id}", _HOOBUY_CODES, read_path=_CODE_PATH
            ),
        ),
        referral="inviteCode",
        popular=True,
    ),
    Agent(
        "allchinabuy",
        "AllChinaBuy",
        ("allchinabuy.com",),
        (WrappedUrl("https://www.allchinabuy.com/en/page/buy", before=_SEARCH_INPUT),),
        referral="partnercode",
        popular=True,
    ),
    Agent(
        "superbuy",
        "Superbuy",
        ("superbuy.com",),
        (WrappedUrl("https://www.superbuy.com/en/page/buy", before=_SEARCH_INPUT),),
        referral="partnercode",
        popular=True,
    ),
    Agent(
        "oopbuy",
        "Oopbuy",
        ("oopbuy.com",),
        (
            PathItem(
                "https://www.oopbuy.com/product/{code}/{id}",
                {TB: "1", TM: "1", AL: "0", WD: "weidian"},
                read_path=_CODE_PATH,
            ),
            QueryItem(
                "https://m.oopbuy.com/pages/goods/details",
                _HOOBUY_CODES,
                platform_param="channel",
                path=_any(),
                writes=False,
            ),
            WrappedUrl("https://m.oopbuy.com/pages/web-view/index", writes=False),
        ),
        referral="inviteCode",
        spelling={"2": WD},
        popular=True,
    ),
    Agent(
        "usfans",
        "USFans",
        ("usfans.com",),
        (
            PathItem(
                "https://www.usfans.com/product/{code}/{id}",
                {AL: "1", TB: "2", TM: "2", WD: "3"},
                read_path=_CODE_PATH,
            ),
            WrappedUrl("https://www.usfans.com/", writes=False),
        ),
        referral="ref",
        # Codes 4 and 5 are what USFans' newer pages use for 1688 and Taobao.
        spelling={"4": AL, "5": TB},
        popular=True,
    ),
    Agent(
        "litbuy",
        "LitBuy",
        ("litbuy.com",),
        (
            QueryItem(
                "https://litbuy.com/products/details",
                {TB: "TAOBAO", TM: "TAOBAO", WD: "WEIDIAN", AL: "1688"},
                platform_param="channel",
                platform_names=("platform",),
                path=_any(),
            ),
            PathItem(
                "https://litbuy.com/product/{code}/{id}",
                _HOOBUY_CODES,
                read_path=_CODE_PATH,
                writes=False,
            ),
            WrappedUrl("https://litbuy.com/item/details", writes=False),
        ),
        referral="ref",
        short_hosts=("litbuy.shop",),
        popular=True,
    ),
    Agent(
        "sugargoo",
        "Sugargoo",
        ("sugargoo.com", "esugargoo.com"),
        (
            WrappedUrl(
                "https://www.sugargoo.com/#/home/productDetail",
                param="productLink",
                also=("url",),
                encodings=2,
            ),
        ),
        referral="memberId",
    ),
    Agent(
        "fishgoo",
        "Fishgoo",
        ("fishgoo.com",),
        (
            WrappedUrl(
                "https://www.fishgoo.com/#/product",
                param="productLink",
                also=("url",),
                encodings=2,
            ),
        ),
        referral="memberId",
    ),
    _cnfans_like("joyagoo.com", "https://joyagoo.com/product", shop_type_first=False),
    _cnfans_like("joyabuy.com", "https://joyabuy.com/product/", shop_type_first=True),
    _cnfans_like("orientdig.com", "https://orientdig.com/product/", shop_type_first=True),
    Agent(
        "cssbuy",
        "CSSBuy",
        ("cssbuy.com",),
        (
            PathItem(
                "https://www.cssbuy.com/item-micro-{id}.html",
                platform=WD,
                read_path=r"/item-micro-(?P<id>\d{1,20})(?:\.html?)?",
            ),
            PathItem(
                "https://www.cssbuy.com/item-1688-{id}.html",
                platform=AL,
                read_path=r"/item-1688-(?P<id>\d{1,20})(?:\.html?)?",
            ),
            PathItem(
                "https://www.cssbuy.com/item-{id}.html",
                platform=TB,
                read_path=r"/item-(?P<id>\d{1,20})(?:\.html?)?",
            ),
        ),
        referral="promotionCode",
    ),
    Agent(
        "hipobuy",
        "Hipobuy",
        ("hipobuy.com",),
        (
            PathItem(
                "https://hipobuy.com/product/{code}/{id}",
                {TB: "taobao", TM: "taobao", WD: "weidian", AL: "1688"},
                read_path=_CODE_PATH,
            ),
        ),
        referral="inviteCode",
        spelling={"0": AL, "1": TB, "2": WD},
    ),
    Agent(
        "gtbuy",
        "GTBuy",
        ("gtbuy.com",),
        (
            PathItem("https://gtbuy.com/product/{code}/{id}", _HOOBUY_CODES, read_path=_CODE_PATH),
            QueryItem(
                "https://www.gtbuy.com/goods/detail",
                {TB: "taobao", TM: "taobao", WD: "weidian", AL: "1688"},
                id_param="keyword",
                writes=False,
            ),
        ),
        referral="inviteCode",
    ),
    Agent(
        "cnshopper",
        "CNShopper",
        ("cnshopper.com",),
        (
            QueryItem(
                "https://cnshopper.com/goods/detail",
                {TB: "taobao", TM: "tmall", WD: "weidian", AL: "1688"},
                id_param="keyword",
            ),
        ),
        referral="invite_id",
    ),
    Agent(
        "sinabuy",
        "Sinabuy",
        ("sinabuy.com",),
        (
            PathItem(
                "https://www.sinabuy.com/product/{code}/{id}", _HOOBUY_CODES, read_path=_CODE_PATH
            ),
        ),
        referral="inviteCode",
    ),
    Agent(
        "ootdbuy",
        "OOTDBuy",
        ("ootdbuy.com",),
        (
            QueryItem(
                "https://www.ootdbuy.com/goods/details",
                {TB: "TAOBAO", TM: "TAOBAO", WD: "weidian", AL: "1688"},
                platform_param="channel",
            ),
        ),
    ),
    Agent(
        "basetao",
        "Basetao",
        ("basetao.com",),
        (
            PathItem(
                "https://www.basetao.com/best-taobao-agent-service/products/agent/{code}/{id}.html",
                {TB: "taobao", TM: "taobao", WD: "weidian", AL: "1688"},
                read_path=(
                    r"(?:/[a-z0-9-]+)?/products/agent/(?P<code>[a-z0-9_]{1,10})/(?P<id>\d{1,20})\.html?"
                ),
            ),
        ),
    ),
    Agent(
        "lovegobuy",
        "LoveGoBuy",
        ("lovegobuy.com",),
        (
            QueryItem(
                "https://www.lovegobuy.com/product",
                _LOWER_CODES,
                platform_param="shop_type",
                ids=("goodsid",),
                platform_names=("platform",),
                path=_any(),
            ),
        ),
        referral="invite_code",
    ),
    Agent(
        "loongbuy",
        "Loongbuy",
        ("loongbuy.com",),
        (WrappedUrl("https://www.loongbuy.com/product-details"),),
        referral="invitecode",
    ),
    Agent(
        "hagobuy",
        "Hagobuy",
        ("hagobuy.com",),
        (WrappedUrl("https://www.hagobuy.com/item/details"),),
        referral="affcode",
    ),
    Agent(
        "hegobuy",
        "Hegobuy",
        ("hegobuy.com",),
        (WrappedUrl("https://www.hegobuy.com/item/details"),),
        referral="affcode",
    ),
    Agent(
        "wegobuy",
        "Wegobuy",
        ("wegobuy.com",),
        (WrappedUrl("https://www.wegobuy.com/en/page/buy", before=_SEARCH_INPUT),),
        referral="partnercode",
    ),
    # Pandabuy closed in 2024; its links still circulate. Its encrypted
    # ``url=PJ…`` form carries no readable URL and is not read.
    Agent(
        "pandabuy",
        "Pandabuy",
        ("pandabuy.com",),
        (WrappedUrl("https://www.pandabuy.com/product", before=(("ra", "1"),)),),
        referral="inviteCode",
    ),
    Agent(
        "kameymall",
        "Kameymall",
        ("kameymall.com",),
        (WrappedUrl("https://www.kameymall.com/purchases/search/item"),),
        referral="code",
    ),
    Agent(
        "ezbuycn",
        "EzBuyCN",
        ("ezbuycn.com",),
        (
            WrappedUrl(
                "https://ezbuycn.com/api/chaid.aspx", param="key", path=_any(r"/api/chaid\.aspx")
            ),
        ),
    ),
    Agent(
        "eastmallbuy",
        "EastMallBuy",
        ("eastmallbuy.com",),
        (
            WrappedUrl(
                "https://eastmallbuy.com/index/item/index.html", before=(("searchlang", "en"),)
            ),
        ),
        referral="inviter",
    ),
    Agent(
        "hubbuycn",
        "HubbuyCN",
        ("hubbuycn.com",),
        (
            WrappedUrl("https://www.hubbuycn.com/product/item"),
            PathItem(
                "https://www.hubbuycn.com/taobaoID={id}",
                platform=TB,
                read_path=r"/taobaoid=(?P<id>\d{1,20})(?:&.*)?",
                writes=False,
            ),
        ),
        referral="invitation_code",
    ),
    Agent(
        "blikbuy",
        "Blikbuy",
        ("blikbuy.com",),
        (WrappedUrl("https://www.blikbuy.com/", before=(("go", "item"),)),),
        referral="icode",
    ),
    Agent(
        "ponybuy",
        "Ponybuy",
        ("ponybuy.com",),
        (
            PathItem(
                "https://www.ponybuy.com/products/{code}/{id}",
                {TB: "1", TM: "1", WD: "3", AL: "2"},
                read_path=_CODE_PATH,
            ),
            QueryItem(
                "https://www.ponybuy.com/en-gb/goods",
                {TB: "taobao", TM: "taobao", WD: "weidian", AL: "1688"},
                id_param="product_id",
                path=_any(r"(?:/[\w-]+)?/goods/?"),
                writes=False,
            ),
        ),
        referral="inviteCode",
    ),
    Agent(
        "panglobalbuy",
        "PanGlobalBuy",
        ("panglobalbuy.com",),
        (
            QueryItem(
                "https://panglobalbuy.com/#/details",
                {TB: "1", TM: "1", WD: "3", AL: "2"},
                id_param="offerId",
                platform_param="type",
                platform_first=True,
            ),
        ),
        referral="share_id",
    ),
    Agent(
        "sifubuy",
        "Sifubuy",
        ("sifubuy.com",),
        (
            QueryItem(
                "https://www.sifubuy.com/detail",
                {TB: "2", TM: "2", WD: "4", AL: "1"},
                platform_param="type",
            ),
            WrappedUrl("https://www.sifubuy.com/detail", param="productUrl", writes=False),
        ),
        referral="invite_code",
    ),
    Agent(
        "itaobuy",
        "iTaobuy",
        ("itaobuy.com",),
        (WrappedUrl("https://www.itaobuy.com/product-detail"),),
        referral="inviteCode",
    ),
    Agent(
        "npbuy",
        "NPBuy",
        ("npbuy.com",),
        (
            QueryItem(
                "https://www.npbuy.com/goods-detail",
                {TB: "TB", TM: "TB", WD: "WD", AL: "AL"},
                id_param="itemId",
                platform_param="source",
            ),
        ),
    ),
    Agent(
        "mycnbox",
        "MyCNBox",
        ("mycnbox.com",),
        (
            QueryItem(
                "https://mycnbox.com/goodsDetail",
                {TB: "taobao", TM: "taobao", WD: "weidian", AL: "1688"},
                id_param="itemId",
                platform_param="mallType",
                platform_first=True,
            ),
        ),
    ),
    Agent(
        "niuniubox",
        "Niuniubox",
        ("niuniubox.com",),
        (
            QueryItem(
                "https://niuniubox.com/product-detail/",
                {TB: "taobao", TM: "tmall", WD: "micro", AL: "1688"},
                platform_first=True,
            ),
        ),
    ),
    Agent(
        "wemimi",
        "Wemimi",
        ("wemimi.com",),
        (
            WrappedUrl(
                "https://www.wemimi.com/#/home/productDetail",
                param="productLink",
                also=("url",),
                encodings=2,
            ),
        ),
    ),
    Agent(
        "pantherbuy",
        "Pantherbuy",
        ("pantherbuy.com",),
        (WrappedUrl("https://pantherbuy.com/index/item/index.html"),),
    ),
)
