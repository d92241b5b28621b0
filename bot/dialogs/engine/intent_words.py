"""The Chinese words the intent matcher splits messages into (beside every short Chinese
phrase a flow or the shop file declares), and the words that say little in either
language. Longer words win: 会员码 is one word, not 会员 + 码."""

from __future__ import annotations

WORDS = (
    # points and tiers
    "积分", "查分", "分数", "多少分", "余额", "等级", "级别", "金卡", "银卡", "钻石", "普通",
    "会员等级", "升级", "降级", "还差", "多少", "过期", "到期", "明细", "记录", "积分明细",
    # rewards and coupons
    "兑换", "换", "礼品", "礼物", "奖品", "优惠券", "优惠卷", "代金券", "抵用券", "券", "卡券",
    # card
    "会员卡", "会员码", "二维码", "付款码", "出示", "卡号", "会员号", "电子卡", "条码",
    # booking
    "预约", "预订", "预定", "订位", "订座", "订个位", "位置", "位子", "座位", "空位", "有位",
    "几位", "几个人", "订桌", "取消预约", "改约",
    # feedback
    "反馈", "意见", "建议", "投诉", "吐槽", "差评", "好评", "评价", "难喝", "难吃", "不好喝",
    "不好吃", "服务", "态度", "太慢", "太差", "不满意", "满意", "表扬", "提个", "提建议",
    # profile
    "资料", "个人资料", "个人信息", "信息", "手机号", "手机", "电话", "号码", "生日", "名字",
    "姓名", "修改", "更改", "改", "换绑", "广告", "推送", "营销", "消息", "打扰", "骚扰",
    "不想", "收到", "不要", "退订", "取消订阅", "关闭", "注销", "删除", "删掉", "数据",
    "账号", "账户", "绑定", "关联",
    # language
    "语言", "英文", "英语", "中文", "汉语", "切换",
    # events, check-in, invite, products
    "活动", "最近", "报名", "签到", "打卡", "每日", "邀请", "推荐", "朋友", "好友", "老带新",
    "分享", "为你推荐", "新品", "商品", "产品", "适合", "喝什么", "买什么",
    # help
    "帮助", "菜单", "功能", "怎么用", "你好", "您好",
    # food and drink, the shop and its people: whole words that point to no flow by themselves
    "咖啡", "奶茶", "拿铁", "蛋糕", "面包", "饮料", "味道", "店员", "服务员", "门店", "店里",
    "营业", "时间", "营业时间", "地址", "在哪", "几点", "关门", "开门", "人工", "客服",
    "转人工", "人工客服", "电话", "联系", "停车", "外卖", "发票", "退款", "会员",
    # everyday words, so they stay whole and weigh little
    "我的", "我们", "你们", "什么", "怎么", "怎样", "可以", "一下", "帮我", "还有", "有没有",
    "是不是", "现在", "今天", "明天", "后天", "周六", "周日", "周末", "下午", "上午", "晚上",
    "谢谢", "知道", "一个", "这个", "那个", "怎么办", "为什么", "哪里", "多久",
)  # fmt: skip

STOPWORDS = frozenset(
    (
        "我", "的", "了", "吗", "呢", "吧", "啊", "呀", "嘛", "哦", "是", "有", "在", "要",
        "想", "请", "你", "您", "我们", "你们", "一下", "可以", "帮我", "一个", "这个", "那个",
        "能", "给", "个", "下", "就", "都", "也", "还",
        "i", "me", "a", "an", "the", "to", "of", "for", "is", "am", "are", "be",
        "do", "doe", "did", "can", "could", "you", "please", "want", "would", "like",
        "it", "this", "that", "in", "on", "at", "and", "or", "with", "pls", "plz", "just",
        "some", "any", "there", "we", "us", "our", "have", "ha", "need", "will", "let",
        "im", "s", "t", "d", "ll", "m", "no", "not", "don", "how", "what", "now", "about", "so",
    )
)  # fmt: skip
# Details a request carries (which day, what time), not what it asks for: "明天下午两点预约" is
# a booking as much as "预约" is. The flows read them from the text themselves.
DETAILS = frozenset(
    (
        "今天", "明天", "后天", "大后天", "今晚", "明晚", "周末", "下周", "这周", "本周",
        "周一", "周二", "周三", "周四", "周五", "周六", "周日", "周天", "星期", "礼拜",
        "上午", "中午", "下午", "晚上", "早上", "傍晚", "点", "半", "号", "点钟", "两点",
        "today", "tomorrow", "tonight", "weekend", "week", "next", "morning", "afternoon",
        "evening", "noon", "monday", "tuesday", "wednesday", "thursday", "friday",
        "saturday", "sunday", "am", "pm", "oclock", "clock",
    )
)  # fmt: skip
