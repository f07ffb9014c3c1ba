"""Value banks for synthetic samples: cities, people, stocks, phrases and canned no-call dialogue (en + zh).

Every bank is a plain tuple so a generator can `rng.choice` from it; language-dependent banks are
`{"en": (...), "zh": (...)}`. Values are chosen to appear verbatim in the user's words, so that a
model (even a tiny one) can learn to copy them into the call.
"""

from __future__ import annotations

CITIES = {
    "en": (
        "Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Nanjing",
        "Tokyo", "Osaka", "Seoul", "Singapore", "London", "Paris", "Berlin", "Madrid", "Rome",
        "New York", "San Francisco", "Chicago", "Toronto", "Sydney", "Dubai", "Mumbai",
    ),
    "zh": (
        "北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆", "天津", "苏州",
        "长沙", "厦门", "青岛", "昆明", "东京", "首尔", "新加坡", "伦敦", "巴黎", "柏林", "纽约", "悉尼",
    ),
}  # fmt: skip

FIRST_NAMES = (
    "alice", "bob", "carol", "david", "emma", "frank", "grace", "henry", "ivy", "jack", "kate", "leo",
    "mia", "nina", "oscar", "paul", "quinn", "rose", "sam", "tina", "wang.wei", "li.na", "zhang.min", "chen.jie",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "corp.example", "mail.example")

PEOPLE = {
    "en": ("Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack", "Kate", "Leo"),
    "zh": ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴霞", "徐亮", "孙丽"),
}

# (symbol, English name, Chinese name)
STOCKS = (
    ("AAPL", "Apple", "苹果"), ("MSFT", "Microsoft", "微软"), ("GOOGL", "Alphabet", "谷歌"),
    ("AMZN", "Amazon", "亚马逊"), ("TSLA", "Tesla", "特斯拉"), ("NVDA", "NVIDIA", "英伟达"),
    ("META", "Meta", "Meta"), ("BABA", "Alibaba", "阿里巴巴"), ("JD", "JD.com", "京东"),
    ("NFLX", "Netflix", "奈飞"), ("INTC", "Intel", "英特尔"), ("AMD", "AMD", "AMD"),
    ("BIDU", "Baidu", "百度"), ("PDD", "PDD Holdings", "拼多多"), ("NIO", "NIO", "蔚来"),
    ("IBM", "IBM", "IBM"), ("ORCL", "Oracle", "甲骨文"), ("SONY", "Sony", "索尼"),
)  # fmt: skip

SUBJECTS = {
    "en": (
        "Quarterly report", "Meeting notes", "Project update", "Invoice 2041", "Lunch on Friday",
        "Travel plan", "Weekly summary", "Contract draft", "Team offsite", "Budget review",
        "Release schedule", "Welcome aboard", "Design feedback", "Holiday schedule", "Interview slots",
    ),
    "zh": (
        "季度报告", "会议纪要", "项目进展", "发票2041", "周五午餐", "出差安排", "周报", "合同草稿",
        "团建通知", "预算评审", "发布计划", "欢迎入职", "设计反馈", "假期安排", "面试时间",
    ),
}  # fmt: skip

BODIES = {
    "en": (
        "Please review the attached numbers before Monday.", "The meeting moved to 3 pm.",
        "Thanks for your help last week.", "Can we push the deadline by two days?",
        "The build passed and is ready for release.", "Let me know if the draft looks good.",
        "I will be out of office tomorrow.", "Lunch is on me this time.",
        "Here are the notes from today's call.", "The budget was approved.",
    ),
    "zh": (
        "请在周一前看一下附件里的数据。", "会议改到下午三点。", "感谢你上周的帮助。", "截止日期能否推迟两天？",
        "构建已通过，可以发布了。", "看看草稿是否可以。", "我明天不在办公室。", "这次午饭我请。",
        "这是今天电话会的纪要。", "预算已经批准了。",
    ),
}  # fmt: skip

TOPICS = {
    "en": (
        "machine learning", "electric cars", "coffee beans", "running shoes", "solar panels",
        "python tutorials", "hiking trails", "jazz concerts", "green tea", "board games",
    ),
    "zh": ("机器学习", "电动汽车", "咖啡豆", "跑鞋", "太阳能板", "Python教程", "徒步路线", "爵士音乐会", "绿茶", "桌游"),
}  # fmt: skip

ROOMS = ("A101", "A203", "B305", "B410", "C112", "C220", "D501", "D618")
CARRIERS = ("SF Express", "JD Logistics", "ZTO", "YTO", "DHL", "FedEx", "UPS", "EMS")
CONDITIONS = {
    "en": ("sunny", "cloudy", "light rain", "overcast", "clear", "showers", "windy", "snow"),
    "zh": ("晴", "多云", "小雨", "阴", "晴朗", "阵雨", "大风", "小雪"),
}
ORDER_STATUSES = ("shipped", "processing", "delivered", "out for delivery", "awaiting payment")
SHIPPING_STATUSES = ("in transit", "arrived at sorting center", "out for delivery", "delivered")

# No-call dialogue: (user, assistant). The assistant never calls a tool for these.
GREETINGS = {
    "en": (
        ("Hi!", "Hello! How can I help you today?"),
        ("Hello, who are you?", "I'm an AI assistant. I can help you with the tools I have, or just chat."),
        ("Good morning!", "Good morning! What can I do for you?"),
        ("Thanks, that's all.", "You're welcome! Have a great day."),
        ("Thank you so much!", "Happy to help! Let me know if you need anything else."),
        ("How are you doing?", "I'm doing well, thanks for asking! How can I help?"),
        ("Hey there", "Hey! What can I help you with?"),
        ("Bye!", "Goodbye! Feel free to come back anytime."),
        ("What can you do?", None),  # None: answer lists the tools' abilities
        ("Which tools do you have?", None),
    ),
    "zh": (
        ("你好！", "你好！有什么可以帮您的吗？"),
        ("你好，请问你是谁？", "我是一个人工智能助手，很高兴为您服务。有什么我可以帮您的吗？"),
        ("早上好！", "早上好！今天需要我帮您做什么？"),
        ("谢谢，没别的事了。", "不客气，祝您愉快！"),
        ("太感谢了！", "很高兴能帮到您！还有其他需要随时告诉我。"),
        ("最近怎么样？", "我很好，谢谢关心！有什么可以帮您？"),
        ("在吗？", "在的，请问有什么需要？"),
        ("再见！", "再见！欢迎随时回来。"),
        ("你能做什么？", None),
        ("你有哪些工具？", None),
    ),
}  # fmt: skip

OUT_OF_SCOPE = {
    "en": (
        ("What is the capital of France?", "The capital of France is Paris."),
        ("Tell me a joke.", "Why did the programmer quit his job? Because he didn't get arrays."),
        ("How many days are in a leap year?", "A leap year has 366 days."),
        ("Translate 'thank you' into French.", "'Thank you' in French is 'merci'."),
        ("Who wrote Romeo and Juliet?", "Romeo and Juliet was written by William Shakespeare."),
        ("What does HTTP stand for?", "HTTP stands for HyperText Transfer Protocol."),
        ("Can you recommend a good book?", "Sure! 'The Pragmatic Programmer' is a classic worth reading."),
        ("What is the boiling point of water?", "At sea level, water boils at 100 °C (212 °F)."),
        ("Write a haiku about autumn.", "Crisp leaves drift and fall,\nthe old maple lets them go,\nquiet evening light."),
        ("How many continents are there?", "There are seven continents."),
        ("What's the difference between a list and a tuple in Python?",
         "A list is mutable, so you can change it after creation; a tuple is immutable."),
        ("Who painted the Mona Lisa?", "The Mona Lisa was painted by Leonardo da Vinci."),
    ),
    "zh": (
        ("法国的首都是哪里？", "法国的首都是巴黎。"),
        ("给我讲个笑话吧。", "程序员为什么总分不清万圣节和圣诞节？因为 Oct 31 等于 Dec 25。"),
        ("闰年有多少天？", "闰年有366天。"),
        ("把“谢谢”翻译成英文。", "“谢谢”的英文是 “thank you”。"),
        ("《红楼梦》的作者是谁？", "《红楼梦》的作者是曹雪芹。"),
        ("HTTP 是什么的缩写？", "HTTP 是 HyperText Transfer Protocol（超文本传输协议）的缩写。"),
        ("推荐一本好书吧。", "推荐《人类简史》，视角独特，值得一读。"),
        ("水的沸点是多少？", "在标准大气压下，水的沸点是100摄氏度。"),
        ("写一首关于秋天的短诗。", "秋风起，落叶黄，\n一行雁字过南窗。"),
        ("世界上有几个大洲？", "世界上有七个大洲。"),
        ("Python 里列表和元组有什么区别？", "列表是可变的，创建后可以修改；元组是不可变的。"),
        ("《蒙娜丽莎》是谁画的？", "《蒙娜丽莎》是达·芬奇画的。"),
    ),
}  # fmt: skip
