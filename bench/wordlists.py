"""Vocabulary for the synthetic chat dataset.

Hundreds of distinct words per language so the tokenizer meets the variety of real support chats:
a dataset built from a handful of words would hit tiktoken's caches and flatter every timing.
The lists are plain text blocks (one entry per line, or per space for single words) because they
are data, and deduplicated on import so an accidental repeat does not skew the sampling.
"""

from __future__ import annotations


def _words(block: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(block.split()))


def _lines(block: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line.strip() for line in block.splitlines() if line.strip()))


SYSTEM_PROMPT = (
    "You are Kestrel, the support assistant of a company that sells project-planning software "
    "to small and medium teams in Europe and Japan. Answer in the language the user writes in, "
    "keep answers short and concrete, and prefer numbered steps when you explain a procedure. "
    "If a question needs account data you cannot see, say so plainly and offer the tool that can "
    "look it up. Never invent prices, dates or order numbers; quote them only from tool results."
)

# --- English -----------------------------------------------------------------------------------

EN_NOUNS = _words("""
account invoice report dashboard pipeline dataset schedule meeting budget forecast contract
customer supplier warehouse shipment package order refund subscription license server database
backup cluster container deployment release feature bug ticket request response message thread
channel calendar deadline milestone roadmap proposal summary draft document spreadsheet
presentation slide chart diagram table column row field record query index cache token password
permission role policy guideline checklist template workflow process procedure review audit
survey interview candidate onboarding training course lesson exercise exam grade student teacher
library museum station airport flight hotel reservation restaurant menu recipe ingredient kitchen
garden bicycle engine battery charger laptop keyboard monitor printer camera phone headset
microphone speaker router network firewall certificate domain website homepage blog article
newsletter campaign audience brand logo label price discount coupon payment transaction balance
statement receipt expense salary bonus insurance claim warranty repair maintenance inspection
sensor device firmware update patch version branch commit repository script function variable
parameter argument module framework compiler interpreter terminal console log metric alert
incident outage latency throughput capacity quota limit threshold estimate sample experiment
hypothesis result finding insight trend pattern anomaly outlier prediction classifier prompt
answer question feedback rating comment suggestion complaint apology greeting invitation agenda
note reminder task project team department manager colleague partner client vendor stakeholder
investor board committee office building floor room desk chair window door parking lunch coffee
weather umbrella jacket suitcase passport visa itinerary trip vacation holiday weekend morning
afternoon evening quarter year month week translation language dictionary grammar sentence
paragraph chapter book novel poem story song album playlist concert movie episode series game
score match tournament league player coach stadium spreadsheet timeline estimate backlog sprint
retrospective standup handover migration integration webhook endpoint token credential session
cookie browser extension plugin theme layout font icon button form dropdown checkbox tooltip
notification inbox attachment folder archive export import upload download sync conflict
merge rollback hotfix changelog benchmark profile bottleneck regression baseline scenario
simulation prototype mockup wireframe sketch storyboard persona journey funnel conversion
retention churn revenue margin profit loss payroll headcount vacancy promotion appraisal
mentor intern volunteer donor grant charity festival exhibition lecture seminar workshop
conference keynote panel podcast interview transcript caption subtitle glossary manual
handbook tutorial walkthrough demo trial quote estimate catalogue inventory stock pallet
courier route delivery pickup address postcode timezone deadline
""")

EN_ADJECTIVES = _words("""
new old quick slow careful simple complex quiet noisy bright dark early late urgent optional
shared private public internal external monthly weekly daily annual quarterly final initial
previous next current detailed brief rough clean messy stable flaky reliable broken missing
duplicate outdated recent upcoming pending approved rejected draft signed unsigned encrypted
compressed large small tiny huge heavy light expensive cheap free paid secure risky safe
manual automatic visible hidden default custom temporary permanent local remote regional
global strict flexible accurate vague consistent random sorted filtered grouped nested flat
empty full partial complete valid invalid correct wrong exact approximate fresh stale
readable unreadable friendly formal casual polite helpful confusing clear obvious subtle
important minor major critical severe mild typical unusual rare common frequent occasional
green red blue yellow orange purple grey golden silver wooden metal plastic paper digital
printed handwritten spoken written translated bilingual multilingual Japanese English French
German Spanish Korean Chinese Italian Dutch Swedish Polish Portuguese
""")

EN_VERBS = _words("""
check update review send share export import upload download delete archive restore rename
move copy merge split sort filter group count measure compare estimate calculate convert
translate summarize explain describe list schedule cancel postpone confirm approve reject sign
renew extend upgrade downgrade install configure enable disable reset retry refresh reload
restart deploy release test debug fix patch log monitor track report notify remind invite
book reserve order ship deliver return refund charge invoice pay transfer verify validate
clean prepare draft edit proofread publish print scan attach forward reply mention assign
prioritize close reopen escalate document record replay analyze plan organize arrange
collect gather sample label annotate tag search find locate replace rewrite simplify shorten
expand improve speed reduce increase limit allow block unlock lock encrypt decrypt sync
migrate backup recover inspect audit benchmark profile optimize cache store fetch load parse
render display hide highlight format align resize crop rotate zoom record measure
""")

EN_ADVERBS = _words("""
quickly slowly carefully carefully quietly immediately eventually usually often rarely
sometimes always never already still again together separately manually automatically
directly indirectly roughly exactly nearly almost clearly briefly gently firmly safely
securely locally remotely weekly daily monthly annually first finally meanwhile afterwards
beforehand instead otherwise probably certainly honestly frankly simply actually
""")

EN_SUBJECTS = _lines("""
I
we
you
they
the team
our manager
my colleague
the customer
the support desk
the finance department
the new intern
our partner in Osaka
the project lead
the vendor
everyone on the call
the night shift
the release manager
the data team
""")

EN_MODALS = _lines("""
should
could
will
might
must
can
would like to
need to
plan to
want to
hope to
forgot to
tried to
promised to
agreed to
""")

EN_DETERMINERS = _lines("""
the
this
that
our
your
their
each
every
one
the same
another
the second
""")

EN_PHRASES = _lines("""
before the end of the week
after the next release
in the shared folder
without breaking anything
for the Tokyo office
by Friday afternoon
during the maintenance window
as soon as possible
once the payment clears
if nobody objects
in the staging environment
for the quarterly review
on the main dashboard
with the updated template
across all regions
at the start of the sprint
while the migration runs
from the old system
into the new workspace
before lunch
next Tuesday morning
for every new customer
in both languages
according to the policy
with a short explanation
under the current plan
for the third time
at no extra cost
behind the firewall
on mobile and desktop
before the audit
in the right time zone
with read-only access
after a quick review
for the board meeting
from the customer portal
in plain language
by the usual courier
within two business days
at the Osaka warehouse
""")

EN_OPENERS = _lines("""
Hi,
Hello,
Good morning,
Quick question:
Sorry to bother you,
Thanks for the help earlier.
One more thing:
Following up on my last message,
Just to confirm,
I have a problem:
Could you help me?
By the way,
""")

EN_QUESTION_STARTS = _lines("""
How do I
Can I
Is it possible to
What is the best way to
Why can't I
Where do I
When should I
Who is allowed to
Do I need to
How long does it take to
Is there a way to
What happens if I
""")

EN_ASSISTANT_STARTS = _lines("""
Sure.
Of course.
Good question.
Thanks for the details.
Here is what you can do.
Happy to help.
That is a known limitation.
I checked the documentation.
Let me walk you through it.
Understood.
""")

EN_CONNECTORS = _lines("""
However,
Also,
After that,
In the meantime,
If that fails,
For example,
Note that
Alternatively,
To be safe,
In most cases,
Once that is done,
Finally,
""")

EN_NAMES = _words("""
Alice Bruno Chen Dmitri Emma Fatima Gabriel Hana Ines Jonas Kenji Leila Marco Nadia Oskar
Priya Quentin Rosa Sven Tomoko Umar Vera Wei Xavier Yuki Zofia Haruto Sakura Ren Aoi Daniel
Lucas Mia Noah Olivia Pedro Sofia Theo Yusuf Amelia
""")

EN_FILES = _words("""
report.xlsx budget_2025.csv config.yaml invoice-0042.pdf notes.md roadmap.pptx schema.sql
export.jsonl backup.tar.gz settings.json README.md deploy.sh main.py index.html styles.css
contract_v3.docx minutes.txt photo.png logo.svg train.jsonl eval.jsonl
""")

# --- Japanese ----------------------------------------------------------------------------------

JA_NOUNS = _words("""
会議 資料 報告書 見積書 請求書 契約書 予算 売上 在庫 注文 配送 返品 返金 領収書 支払い
口座 顧客 取引先 担当者 上司 同僚 部署 本社 支店 工場 倉庫 事務所 会議室 受付 窓口
予定 日程 締め切り 期限 計画 目標 課題 問題 原因 結果 対策 改善 提案 企画 方針 手順
説明書 マニュアル 設定 画面 ボタン 項目 一覧 表 グラフ 図 数字 金額 割引 料金 税金 費用
交通費 出張 休暇 有給 残業 勤務 給与 賞与 保険 年金 健康診断 研修 新人 面接 採用 評価
システム サーバー データベース バックアップ ネットワーク パスワード アカウント ログイン
メール 添付ファイル フォルダ ファイル データ ログ エラー 不具合 障害 復旧 更新 バージョン
アプリ ソフトウェア パソコン スマートフォン プリンター カメラ キーボード マウス モニター
プロジェクト チーム リーダー メンバー スケジュール タスク ミーティング プレゼン レポート
アンケート フィードバック コメント 質問 回答 問い合わせ 要望 苦情 お詫び 挨拶 招待
天気 雨 雪 台風 地震 電車 バス 新幹線 飛行機 空港 駅 ホテル 旅館 予約 切符 荷物 地図
昼食 弁当 コーヒー お茶 食堂 レストラン 料理 材料 野菜 果物 魚 肉 米 味噌汁 お菓子
本 雑誌 新聞 記事 文章 単語 文法 翻訳 辞書 言語 日本語 英語 中国語 韓国語 発音 漢字
学生 先生 授業 宿題 試験 成績 図書館 大学 高校 教室 講義 論文 研究 実験 仮説 分析
病院 薬 医者 症状 熱 風邪 休み 週末 月曜日 火曜日 水曜日 木曜日 金曜日 午前 午後 夕方
年度 四半期 来月 先月 今週 来週 明日 昨日 今日 朝 夜 時間 分 期間 頻度 回数 割合 順番
品質 安全 環境 効率 費用対効果 生産性 売上目標 利益 損失 市場 競合 戦略 広告 宣伝 販売
商品 製品 サービス 部品 機能 性能 容量 速度 制限 上限 条件 規則 規約 許可 権限 承認
署名 印鑑 書類 申請書 届出 証明書 身分証 住所 電話番号 郵便番号 名前 生年月日 国籍
モデル 学習 推論 トークン 入力 出力 精度 損失関数 データセット サンプル 検証 評価指標
""")

JA_SURU_NOUNS = _words("""
確認 変更 設定 送信 受信 保存 削除 復元 移動 共有 公開 印刷 提出 申請 承認 却下 検討
分析 集計 比較 計算 予測 調査 報告 連絡 相談 説明 紹介 案内 注文 発送 配達 返品 交換
予約 取消 延期 開始 終了 再開 中止 更新 登録 解約 契約 支払 請求 入金 振込 精算 記入
修正 追加 編集 翻訳 要約 整理 準備 作成 管理 監視 記録 測定 検証 評価 改善 対応 処理
導入 移行 統合 接続 切断 同期 圧縮 暗号化 復号 認証 再起動 起動 停止 実行 テスト 確定
採用 面接 研修 指導 参加 出席 欠席 遅刻 早退 出張 帰国 到着 出発 乗車 購入 販売 返金
""")

# (masu stem, te form) pairs, so one entry can end a sentence in several polite ways.
JA_VERBS = tuple(
    tuple(pair.split(","))
    for pair in _lines("""
読み,読んで
書き,書いて
送り,送って
待ち,待って
使い,使って
買い,買って
持ち,持って
作り,作って
知り,知って
分かり,分かって
始まり,始まって
終わり,終わって
休み,休んで
働き,働いて
行き,行って
帰り,帰って
入り,入って
出し,出して
話し,話して
聞き,聞いて
調べ,調べて
決め,決めて
見せ,見せて
教え,教えて
考え,考えて
答え,答えて
伝え,伝えて
届け,届けて
忘れ,忘れて
覚え,覚えて
続け,続けて
止め,止めて
開け,開けて
閉め,閉めて
付け,付けて
消し,消して
直し,直して
探し,探して
返し,返して
渡し,渡して
選び,選んで
呼び,呼んで
運び,運んで
急ぎ,急いで
手伝い,手伝って
払い,払って
頼み,頼んで
集め,集めて
比べ,比べて
並べ,並べて
""")
)

JA_I_ADJECTIVES = _words("""
新しい 古い 高い 安い 早い 遅い 速い 多い 少ない 大きい 小さい 長い 短い 重い 軽い
難しい 易しい 忙しい 詳しい 正しい 危ない 明るい 暗い 広い 狭い 強い 弱い 近い 遠い
細かい 厳しい 優しい 面白い 珍しい 嬉しい 悲しい 寒い 暑い 暖かい 涼しい 美味しい
""")

JA_NA_ADJECTIVES = _words("""
簡単 複雑 重要 必要 大切 便利 不便 丁寧 正確 曖昧 安全 危険 確実 十分 不十分 適切
有名 静か 賑やか 綺麗 自由 特別 一般的 具体的 基本的 効率的 柔軟 明確 可能 不可能
""")

JA_ADVERBS = _words("""
すぐに まず 次に 最後に もう一度 必ず たぶん かなり 少し とても ちょっと ずっと まだ
もう 既に 早めに 念のため 改めて 引き続き 一度 全部 すべて 直接 個別に 定期的に 毎日
毎週 毎月 今すぐ 後で 先に 同時に 自動的に 手動で 正しく 丁寧に 簡単に 詳しく
""")

JA_CONNECTORS = _lines("""
しかし、
また、
そのため、
例えば、
なお、
ちなみに、
その後、
念のため、
一方で、
それから、
ただし、
結果として、
""")

JA_OPENERS = _lines("""
お疲れ様です。
こんにちは。
いつもお世話になっております。
すみません、
質問があります。
先ほどはありがとうございました。
確認させてください。
急ぎの件です。
""")

JA_ASSISTANT_STARTS = _lines("""
承知しました。
お問い合わせありがとうございます。
ご連絡ありがとうございます。
確認いたしました。
以下の手順をお試しください。
ご不便をおかけして申し訳ありません。
良い質問ですね。
""")

JA_PLACES = _words("""
東京 大阪 京都 名古屋 福岡 札幌 横浜 神戸 仙台 広島 沖縄 ロンドン パリ ベルリン
""")

JA_PERSON_SUFFIXES = _words("さん 様 部長 課長 先生")
