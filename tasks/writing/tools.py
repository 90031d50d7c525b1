"""The content platform's writing tools (seed 003): fourteen kinds of text, each with
its name, what it is for, its price in credits, and how the local writer shapes it.
Pure data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WritingTool:
    """One kind of text. `sections` caps the sections the local writer makes, `words`
    is its default length in characters, `hashtags` ends the text with topic tags."""

    type: str
    name: str
    description: str
    credits_cost: int
    sections: int = 4
    words: int = 1200
    hashtags: bool = False


TOOLS: dict[str, WritingTool] = {
    tool.type: tool
    for tool in (
        WritingTool("wechat_article", "公众号文章", "生成适合微信公众号的文章", 10),
        WritingTool("xiaohongshu_note", "小红书笔记", "生成种草风格的小红书笔记", 8, 3, 600, True),
        WritingTool("douyin_script", "抖音脚本", "生成分镜清晰的抖音短视频脚本", 8, 3, 500),
        WritingTool("kuaishou_script", "快手脚本", "生成接地气的快手短视频脚本", 8, 3, 500),
        WritingTool("toutiao_article", "头条文章", "生成适合今日头条的资讯文章", 10),
        WritingTool("weibo_post", "微博文案", "生成简短有力的微博文案", 5, 1, 200, True),
        WritingTool("zhihu_answer", "知乎回答", "生成有条理、有论据的知乎回答", 10, 4, 1500),
        WritingTool("product_description", "商品描述", "生成突出卖点的电商商品描述", 6, 3, 500),
        WritingTool("ad_copy", "广告文案", "生成吸引眼球的广告文案", 6, 2, 300),
        WritingTool("news_release", "新闻稿", "生成规范的企业新闻稿", 12, 4, 1000),
        WritingTool("marketing_email", "营销邮件", "生成转化导向的营销邮件", 8, 3, 600),
        WritingTool("speech_draft", "演讲稿", "生成结构完整的演讲稿", 10, 4, 1500),
        WritingTool("work_report", "工作总结", "生成条理清晰的工作总结", 10, 4, 1200),
        WritingTool("story", "故事创作", "根据主题创作短篇故事", 12, 4, 1500),
    )
}
