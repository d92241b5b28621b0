"""The demo shop's people: the names they are drawn from, their tags and notes, what they
write in feedback and what the shop answers."""

from __future__ import annotations

# Roughly by how common they are: the planner picks from the front more often.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
    "许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁沈"
)
GIVEN_F = (
    "静",
    "丽",
    "芳",
    "敏",
    "婷",
    "雪",
    "慧",
    "颖",
    "琳",
    "丹",
    "晶",
    "洁",
    "欣怡",
    "雨涵",
    "梓涵",
    "诗琪",
    "佳怡",
    "晓燕",
    "秀英",
    "海燕",
    "思雨",
    "可馨",
    "紫萱",
    "美玲",
    "桂英",
    "雅婷",
    "梦瑶",
    "晓雯",
    "嘉欣",
    "一诺",
    "若曦",
    "文静",
    "慧敏",
    "佳琪",
)
GIVEN_M = (
    "伟",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "杰",
    "涛",
    "明",
    "超",
    "鹏",
    "斌",
    "浩",
    "宇",
    "晨",
    "浩然",
    "子轩",
    "宇航",
    "俊杰",
    "建华",
    "志强",
    "国庆",
    "文博",
    "建国",
    "家豪",
    "思远",
    "振宇",
    "天佑",
    "明辉",
    "永康",
    "嘉树",
    "博文",
)
ENGLISH_F = ("Emily", "Olivia", "Sophie", "Chloe", "Grace", "Hannah", "Alice", "Laura")
ENGLISH_M = ("James", "Daniel", "Michael", "Thomas", "Lucas", "Oliver", "David", "Ben")
ENGLISH_SURNAMES = ("Carter", "Bennett", "Walker", "Hughes", "Foster", "Reed", "Murphy", "Turner")
TAGS = ("附近居民", "团购", "企业客户", "送礼", "学生", "线上下单", "老顾客")
NOTES = {
    "zh_CN": ("靠窗的位置", "带小朋友,需要宝宝椅", "朋友生日", "想试试新品", "可能晚到十分钟"),
    "en": ("Window seat, please", "Bringing my kids", "A friend's birthday"),
}

# Feedback texts by (topic, praise?): Chinese, then English. Each is sorted into its topic
# by core/service/feedback.py's keywords (tests/test_demo.py checks it); "other" is plain praise.
FEEDBACK_TEXTS: dict[tuple[str, bool], tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("waiting", False): (
        (
            "排队太久了,等了快二十分钟",
            "周末人太多,排了半天队",
            "出餐有点慢,赶时间的时候很着急",
            "下单以后等了好久才拿到",
        ),
        ("Waited almost 20 minutes in the queue.", "The line was far too slow on Saturday."),
    ),
    ("waiting", True): (
        ("今天基本没排队,很快就拿到了",),
        ("No queue today, in and out in minutes.",),
    ),
    ("product", False): (
        ("咖啡有点凉了", "今天的拿铁味道偏苦", "蛋糕不新鲜了", "奶茶太甜了,下次想要少糖"),
        ("My coffee was lukewarm.", "The croissant tasted stale."),
    ),
    ("product", True): (
        ("新品口味很棒,推荐!", "这次的蛋糕味道特别好"),
        ("Great flavour, the new blend is lovely.",),
    ),
    ("price", False): (
        ("价格有点贵,希望多些优惠", "最近涨价了,感觉不太值", "小杯的价钱和大杯差不多,不划算"),
        ("A bit expensive for the size.", "Prices went up again, not really worth it."),
    ),
    ("price", True): (
        ("会员折扣很划算", "性价比很高,积分还能换券"),
        ("Good value with the member discount.",),
    ),
    ("environment", False): (
        ("店里有点吵,音乐声太大", "洗手间不太干净", "座位不够,经常找不到地方坐"),
        ("Tables were dirty when we sat down.", "Too noisy to talk, the music is very loud."),
    ),
    ("environment", True): (
        ("环境很舒服,适合坐一下午", "新装修以后环境很好"),
        ("Lovely clean place, nice music.",),
    ),
    ("service", False): (
        ("店员态度有点冷淡", "收银员不太耐心,问了两次才回答", "点单时店员没听清,做错了也没道歉"),
        ("The cashier was rather rude.",),
    ),
    ("service", True): (
        ("店员很热情,推荐得很用心", "服务很周到,谢谢店长"),
        ("Friendly staff, thank you!", "The barista was really helpful."),
    ),
    ("other", True): (
        (
            "很喜欢这家店,下次还来!",
            "一直来买,很满意",
            "朋友推荐来的,果然不错",
            "包装很好看,送人很合适",
        ),
        ("Love this place, will be back!", "Always a pleasure to come here."),
    ),
}
# Topics by rating: praise (4-5 stars) is mostly general, complaints name what went wrong.
PRAISE_TOPICS = {"other": 40, "service": 20, "product": 15, "environment": 12, "price": 8}
PRAISE_TOPICS |= {"waiting": 5}
COMPLAINT_TOPICS = {"waiting": 30, "product": 25, "price": 15, "environment": 15, "service": 15}
# The owner's answers: thanks for praise, a topic's own answer for a complaint.
ANSWERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "thanks": (
        ("谢谢您的好评,期待您再次光临!", "感谢支持,我们会继续努力!", "谢谢!已经转告同事们了。"),
        ("Thank you, see you again soon!", "Thanks a lot, we have passed it on to the team."),
    ),
    "waiting": (
        ("抱歉让您久等了!高峰时段我们会多安排一位同事,也欢迎提前预约。",),
        ("Sorry for the wait! We are adding staff at peak times; booking ahead helps too.",),
    ),
    "product": (
        ("非常抱歉,下次到店请告诉店员,我们为您重新做一份。",),
        ("Sorry about that. Tell us at the counter next time and we will make you a fresh one.",),
    ),
    "price": (
        ("感谢建议!积分可以兑换代金券,近期也会推出套餐优惠。",),
        ("Thanks for the feedback! Points can be traded for vouchers, and set deals are coming.",),
    ),
    "environment": (
        ("谢谢提醒,已经安排加强清洁和巡查。",),
        ("Thanks for telling us, we have stepped up cleaning.",),
    ),
    "service": (
        ("非常抱歉给您带来不好的体验,我们已经和当班同事沟通。",),
        ("We are sorry about that and have talked with the staff on duty.",),
    ),
}
