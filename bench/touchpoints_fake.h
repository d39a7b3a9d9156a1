// Realistic fake touchpoints for the touchpoints benchmark, shared by touchpoints_gen (bulk
// data) and touchpoints_load (RecordTouchpoint / BatchRecordTouchpoints requests).
//
// Every touchpoint is valid per touchpoint.proto: customer_id (bench_ids.h), occur_time,
// channel and category set, enums in range, lists within their limits. Text is mostly
// Chinese (70%), some English (10%) and some mixed (20%), assembled from CRM phrase pools:
// subject ~10-30, summary ~50-200, content ~200-1,500 code points (mean ~320; failed
// attempts, ~24%, have a one-line summary and a short note). The word 投诉 (complaint) only occurs in service complaints, which are
// kComplaintRate of all touchpoints (those in English say "complaint" instead), so a search
// for 投诉 matches roughly 2.9% of them.
#ifndef TOUCHLINE_BENCH_TOUCHPOINTS_FAKE_H_
#define TOUCHLINE_BENCH_TOUCHPOINTS_FAKE_H_

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/bench_ids.h"
#include "touchline/touchpoints/v1/touchpoint.pb.h"

namespace touchline::bench {

namespace tpv1 = ::touchline::touchpoints::v1;

// The share of touchpoints that are service complaints.
inline constexpr double kComplaintRate = 0.032;

namespace fake_text {

// Slots: {P} product, {PE} product (English), {C} contact, {CE} contact (English), {N} a small
// number, {M} an amount in 万, {ME} an amount (English), {X} a percentage, {D} a date,
// {DE} a date (English), {T} a city, {TE} a city (English), {O} an order number, {K} a
// tracking number, {H} time of day, {HE} time of day (English).
inline constexpr const char* kProducts[] = {
    "智能客服系统", "CRM 企业版",    "数据中台",     "营销自动化平台", "呼叫中心坐席",
    "工单系统",     "BI 报表模块",   "私有化部署方案", "API 集成包",    "移动销售助手",
    "会员积分系统", "电子合同模块"};
inline constexpr const char* kProductsEn[] = {
    "CRM Enterprise", "Marketing Cloud", "Service Desk",      "Data Hub",
    "Call Center Seats", "BI Dashboard",  "API Gateway add-on", "Mobile Sales App"};
inline constexpr const char* kContacts[] = {
    "王经理", "李总", "张工",   "刘主任", "陈总监", "杨经理", "赵总", "黄工",
    "周经理", "吴总", "徐主管", "孙经理", "马总",   "朱工",   "胡经理", "郭秘书"};
inline constexpr const char* kContactsEn[] = {
    "Mr. Wang",  "Ms. Li",       "David Chen",   "Linda Zhang",
    "Kevin Liu", "Grace Zhou",   "the CFO",      "the IT director"};
inline constexpr const char* kDates[] = {"下周三", "本月底", "周五前",   "下个季度",
                                         "明天上午", "下周一", "月中",     "国庆节后"};
inline constexpr const char* kDatesEn[] = {"next Tuesday", "by end of month", "by Friday",
                                           "next quarter", "tomorrow morning", "next week"};
inline constexpr const char* kCities[] = {"上海", "北京", "深圳", "杭州", "苏州",
                                          "成都", "武汉", "南京", "广州", "西安"};
inline constexpr const char* kCitiesEn[] = {"Shanghai", "Beijing", "Shenzhen", "Hangzhou",
                                            "Suzhou",   "Chengdu", "Wuhan",    "Guangzhou"};
inline constexpr const char* kDayParts[] = {"上午", "下午", "中午", "傍晚"};
inline constexpr const char* kDayPartsEn[] = {"morning", "afternoon", "evening"};

enum Topic {
  kQuote,
  kDemo,
  kRenewal,
  kObjection,
  kNeeds,
  kContract,
  kDelivery,
  kLogistics,
  kAfterSales,
  kComplaint,
  kMarketing,
  kNoAnswer,
  kNoReply,
  kRejected,
  kTopicCount
};

struct Pool {
  std::vector<const char*> zh;
  std::vector<const char*> en;
};

// Sentences per topic. Only kComplaint's Chinese sentences contain 投诉.
inline const std::vector<Pool>& TopicSentences() {
  static const auto* const kPools = new std::vector<Pool>{
      // kQuote
      {{"已向{C}发送{P}的正式报价单，总价{M}，含首年维护费。",
        "{C}希望在{D}前拿到{P}的最终报价，以便提交采购流程。",
        "报价按{N}个账号计算，超出部分按单价另行报价。",
        "客户要求把报价拆分为软件许可和实施服务两部分。",
        "本次报价有效期30天，阶梯折扣已在报价单中注明。",
        "{C}询问如果签三年合同能否再优惠{X}%。",
        "财务部门需要含税报价，并要求开具增值税专用发票。",
        "已在系统中更新报价版本，等待销售总监审批。",
        "客户对报价中的实施人天数量有疑问，需要拆解说明。"},
       {"Sent the formal quote for {PE}: {ME} for {N} seats including first-year support.",
        "{CE} asked whether a three-year term could bring another {X}% discount.",
        "Finance needs the quote with tax included {DE}.",
        "Updated the quote version in the system; waiting for the sales director's approval."}},
      // kDemo
      {{"为{C}及其团队演示了{P}的核心功能，重点讲解了线索分配和报表。",
        "客户对移动端和审批流的 demo 反馈很好，提出希望试用两周。",
        "演示过程中{C}问到了与现有 ERP 的对接方式，已承诺提供 API 文档。",
        "下次演示需要准备{T}分公司的真实数据，展示多组织权限。",
        "技术负责人关注单点登录 SSO 和数据导出，需要售前工程师跟进。",
        "客户现场网络较慢，演示环境改为本地部署版本。",
        "演示结束后客户表示会在内部评估，{D}给出反馈。",
        "已开通试用账号{N}个，试用期到{D}。"},
       {"Gave a demo of {PE} to {CE} and the sales ops team, focusing on lead routing and "
        "dashboards.",
        "They liked the mobile app and asked for a two-week trial.",
        "Questions about SSO and the REST API; presales will follow up {DE}.",
        "The demo environment was slow on their network, so we switched to the local build."}},
      // kRenewal
      {{"客户现有合同将于{D}到期，{C}表示有意续约。",
        "续约方案在原有{N}个账号基础上增加{N}个坐席。",
        "{C}希望续约价格与去年持平，不接受{X}%的涨幅。",
        "已提交续约合同草稿，法务正在审核付款条款。",
        "客户使用率较高，建议续约时升级到{P}。",
        "续约决策人换成了新任 IT 总监，需要重新建立关系。",
        "客户担心续约后价格每年上涨，希望锁定三年单价。"},
       {"Their contract expires {DE}; {CE} intends to renew.",
        "The renewal adds {N} seats; they want pricing flat versus last year.",
        "Recommended upgrading to {PE} at renewal given their high usage.",
        "A new IT director now owns the renewal decision, so we need to rebuild the "
        "relationship."}},
      // kObjection
      {{"【异议】{C}认为{P}价格高于预算约{X}%。",
        "【异议】客户拿竞品报价做对比，认为我们的实施费偏高。",
        "【异议】采购部要求按年付款，不接受一次性预付。",
        "客户提出价格异议，已说明私有化部署的额外成本。",
        "针对价格异议，建议提供分期付款或减少模块的方案。",
        "【异议】客户担心数据迁移周期过长影响业务。",
        "【异议】{C}质疑系统在高峰期的稳定性，要求提供压测报告。"},
       {"【异议】Price is about {X}% above their budget.",
        "They compared us with a competitor's quote and pushed back on the services fee.",
        "【异议】Procurement insists on annual payment instead of paying upfront.",
        "Pricing objection: offered a phased rollout with fewer modules in year one."}},
      // kNeeds
      {{"客户核心需求是统一管理{T}和{T}两地的销售线索。",
        "{C}希望系统能自动记录电话和企业微信的沟通内容。",
        "需要支持按区域、行业和客户等级做权限控制。",
        "客户关注报表能否按周自动推送到管理层邮箱。",
        "希望与现有的财务系统打通，实现合同到回款的闭环。",
        "客户计划在{D}上线，第一期覆盖{N}名销售。",
        "客户希望销售在手机上就能完成拜访签到和报价审批。"},
       {"Main need: one place for the leads of the {TE} and {TE} offices.",
        "They want calls and WeCom chats logged automatically.",
        "Weekly reports must be pushed to management by email.",
        "They plan to go live {DE} with {N} sales reps in phase one."}},
      // kContract
      {{"合同已走完法务审核，等待{C}签字盖章。",
        "客户要求在合同中增加数据安全和保密条款。",
        "付款方式约定为签约后支付{X}%，验收后支付余款。",
        "订单{O}已录入系统，金额{M}。",
        "{C}确认采购流程已完成，合同将在{D}寄回。"},
       {"Legal review is done; waiting for {CE} to sign.",
        "They asked for data protection and confidentiality clauses.",
        "Order {O} booked for {ME}."}},
      // kDelivery
      {{"项目交付进度正常，{P}已完成配置和数据导入。",
        "交付团队计划{D}到{T}现场进行上线培训。",
        "客户反馈部分历史数据导入后字段错位，已安排实施顾问处理。",
        "验收标准已与{C}确认，共{N}项功能点。",
        "因客户内部审批延迟，交付时间顺延一周。",
        "上线后第一周共处理{N}个使用问题，均已关闭。"},
       {"Delivery is on track; {PE} is configured and the data imported.",
        "Go-live training is scheduled on site {DE}.",
        "Acceptance criteria agreed with {CE}: {N} items."}},
      // kLogistics
      {{"设备已通过顺丰发出，运单号{K}，预计{D}送达。",
        "客户反映物流信息三天未更新，已联系快递公司核实。",
        "{T}仓库缺货，部分硬件改为从{T}调拨发货。",
        "收货地址有变更，已通知仓库重新打印面单。",
        "客户签收时发现外包装破损，已拍照留证并安排补发。"},
       {"Hardware shipped via SF Express, tracking {K}, arriving {DE}.",
        "Tracking has not updated for three days; checking with the carrier.",
        "The {TE} warehouse is out of stock, so part of the order ships from another site."}},
      // kAfterSales
      {{"客户反馈{P}登录偶尔超时，已提交工单给技术支持。",
        "售后工程师远程排查后确认是客户网络配置问题。",
        "已为客户重置管理员密码并开启双因素认证。",
        "客户询问新版本的升级时间和是否需要停机。",
        "报表导出乱码的问题已在补丁中修复，客户确认正常。",
        "客户希望增加{N}个培训名额，售后答复可以安排线上课程。",
        "售后回访：客户对响应速度表示满意，{N}个工单全部关闭。"},
       {"Login timeouts reported in {PE}; opened a ticket with support.",
        "Root cause was the customer's proxy configuration.",
        "The export encoding bug is fixed in the latest patch; the customer confirmed.",
        "They asked when the next version ships and whether it needs downtime."}},
      // kComplaint
      {{"客户投诉{P}连续两天无法登录，影响了{N}名销售的日常工作。",
        "{C}来电投诉售后响应太慢，工单提交三天仍无人处理。",
        "客户投诉发票金额与合同不符，要求尽快重开。",
        "本次投诉涉及物流延误，货物比承诺时间晚到一周。",
        "客户情绪激动，表示如果{D}前不解决将向上级投诉。",
        "已将投诉升级给售后主管，承诺24小时内给出处理方案。",
        "投诉原因是实施顾问频繁更换，客户对交付质量不满意。"},
       {"The customer filed a complaint: {PE} was down for two days and {N} reps could not "
        "work.",
        "Formal complaint about slow support: the ticket was untouched for three days.",
        "Complaint escalated to the support manager; a resolution plan is promised within 24 "
        "hours."}},
      // kMarketing
      {{"客户参加了我们在{T}举办的行业沙龙，对{P}很感兴趣。",
        "通过官网表单留资，希望了解{P}的价格和案例。",
        "已邀请{C}参加{D}的线上直播，主题是销售数字化。",
        "客户下载了白皮书，标记为市场线索转给销售跟进。",
        "展会现场扫码加了企业微信，约定{D}电话沟通。",
        "向客户推送了新品发布会邀请函，尚未确认参加。"},
       {"Met at our {TE} industry event; interested in {PE}.",
        "Submitted the website form asking for pricing and case studies.",
        "Invited {CE} to the webinar on sales digitalisation {DE}.",
        "Downloaded the whitepaper; passed to sales as a marketing lead."}},
      // kNoAnswer
      {{"电话无人接听，已发送短信说明来意。", "拨打两次均占线，计划{D}再联系。",
        "前台说{C}在开会，未能转接。", "电话接通后对方表示在忙，稍后回电但未回。"},
       {"No answer; left a voicemail asking for a call back.",
        "Line busy twice, will try again {DE}."}},
      // kNoReply
      {{"企业微信消息已读未回，{D}再跟进。", "邮件发出后暂无回复。",
        "短信已发送，客户未回复。", "连续两次发送资料，客户均未回应。"},
       {"Email sent, no reply so far.", "Message read but not answered; will follow up {DE}."}},
      // kRejected
      {{"客户表示目前没有需求，明确拒绝了{P}。", "{C}说今年预算已用完，暂不考虑。",
        "客户已经选择了其他供应商，拒绝进一步沟通。"},
       {"The customer declined: no budget this year.",
        "They chose another vendor and do not want further contact."}},
  };
  return *kPools;
}

inline const Pool& GeneralSentences() {
  static const auto* const kPool = new Pool{
      {"{C}提到公司今年在数字化方面的预算有所增加。",
       "客户所在行业竞争激烈，对销售效率要求很高。",
       "沟通中了解到客户目前使用 Excel 管理客户资料，数据分散。",
       "客户的决策链包括IT部门、销售部门和财务部门。",
       "对方希望我们提供同行业的成功案例作为参考。",
       "整体沟通氛围良好，客户愿意继续深入交流。",
       "已将本次沟通要点同步给团队成员。",
       "客户关心系统的稳定性和数据安全，问了很多关于备份的问题。",
       "{C}的团队规模约{N}人，分布在{T}、{T}等地。",
       "会上讨论了实施计划、培训安排和上线时间。",
       "客户提到之前与另一家供应商合作不太愉快。",
       "下一步需要确认预算审批的具体时间点。",
       "对方对 API 对接和 SLA 条款问得比较细。",
       "客户希望每月召开一次项目例会，由我方项目经理主持。",
       "客户的年营业额约{M}，今年计划新开{N}家门店。",
       "{C}负责这次选型，但最终需要总经理拍板。",
       "客户的销售团队以电话销售为主，每天外呼量很大。",
       "{C}希望我们能派驻一名顾问在{T}现场支持两周。",
       "客户去年做过一次系统选型，因为预算原因搁置了。",
       "对方IT部门人手紧张，希望我们承担大部分实施工作。",
       "客户提到集团总部在{T}，分公司的系统需要统一规划。",
       "客户比较在意移动端的使用体验，销售大部分时间在外面跑。",
       "这次沟通时间比较短，很多细节需要下次会议再确认。",
       "客户询问了我们在零售和制造行业的客户数量。",
       "{C}对我们的交付团队印象不错，认为响应比较及时。",
       "客户内部对是否上云还有分歧，财务倾向私有化部署。",
       "客户希望先在一个事业部试点，效果好再推广到全集团。",
       "对方提到旧系统的数据质量较差，重复客户很多。",
       "客户的采购流程需要三家比价，我们目前排在第二。",
       "{C}透露竞争对手给出的折扣比我们低{X}个点。",
       "客户希望合同中写明系统可用性不低于99.9%。",
       "客户关心后续的升级费用，担心被锁定在某个版本。",
       "沟通中客户多次提到需要和企业微信深度集成。",
       "客户的市场部也希望用同一套系统管理活动和线索。",
       "客户对数据权限要求严格，销售只能看到自己的客户。",
       "客户担心员工不愿意用新系统，希望我们提供激励方案建议。",
       "我方介绍了实施方法论和项目里程碑，客户基本认可。",
       "客户的客服中心有{N}个坐席，高峰期排队严重。",
       "客户目前的工单处理平均时长超过两天，希望缩短一半。",
       "{C}提出希望每季度做一次业务复盘。"},
      {"{CE} mentioned that the budget for digital tools has grown this year.",
       "The decision chain includes IT, sales operations and finance.",
       "They asked for two reference customers in the same industry.",
       "Overall the conversation was positive and they want to continue.",
       "They currently track accounts in spreadsheets, which is error-prone.",
       "Security and data residency came up several times.",
       "We agreed to share the implementation plan {DE}.",
       "The team has about {N} sales reps across the {TE} and {TE} offices.",
       "They want to pilot in one business unit before a group-wide rollout.",
       "Their IT team is small, so they expect us to do most of the implementation.",
       "Procurement needs three competing bids; we are currently second.",
       "They care a lot about the mobile experience because reps are mostly on the road.",
       "Data quality in the old system is poor, with many duplicate accounts.",
       "{CE} wants a quarterly business review with us.",
       "They asked for an uptime commitment of 99.9% in the contract.",
       "Marketing would like to run campaigns from the same system."}};
  return *kPool;
}

// Lines of a call or meeting record, used in long notes.
inline const Pool& DialogueLines() {
  static const auto* const kPool = new Pool{
      {"客户：你们的系统能不能和我们现在用的ERP打通？",
       "我方：可以，我们有标准接口，也支持定制开发。",
       "客户：上线大概需要多长时间？",
       "我方：标准版一般六到八周，视数据迁移量而定。",
       "客户：价格方面还有没有空间？",
       "我方：如果签三年，可以申请额外的折扣。",
       "客户：数据放在哪里？我们对数据安全要求很高。",
       "我方：支持私有化部署，也可以选择国内的云机房。",
       "客户：培训怎么安排？我们的销售年纪偏大。",
       "我方：我们提供现场培训和录播课程，并有专人答疑。",
       "客户：如果出了问题，响应时间是多少？",
       "我方：工作时间内两小时响应，重大故障七乘二十四小时支持。",
       "客户：能不能先试用一段时间？",
       "我方：可以开通两周试用，试用数据可以保留。",
       "客户：手机上能不能审批报价？",
       "我方：可以，移动端支持审批、签到和查看客户资料。",
       "客户：我们需要按区域统计业绩，系统能做到吗？",
       "我方：可以按区域、团队和个人出报表，并自动推送。",
       "客户：之前的历史数据能导进来吗？",
       "我方：可以，我们会先做一次数据清洗和去重。"},
      {"Customer: Can it integrate with our ERP?",
       "Us: Yes, through the standard API or a custom connector.",
       "Customer: How long does a rollout take?",
       "Us: Usually six to eight weeks, depending on the data migration.",
       "Customer: Is there room on price?",
       "Us: With a three-year term we can ask for an extra discount.",
       "Customer: Where is the data hosted?",
       "Us: On-premises or in a mainland China region, as you prefer.",
       "Customer: What is your support response time?",
       "Us: Two hours in business hours, 24x7 for critical incidents."}};
  return *kPool;
}

// Subjects per topic (padded to 10 and cut at 30 code points).
inline const std::vector<Pool>& TopicSubjects() {
  static const auto* const kPools = new std::vector<Pool>{
      {{"{P}报价沟通", "向{C}发送{P}报价单", "报价跟进：{N}个账号"},
       {"Quote for {PE}", "Pricing follow-up with {CE}"}},
      {{"{P}产品演示", "为{T}团队安排 demo", "演示反馈跟进"},
       {"{PE} demo for {CE}", "Demo feedback"}},
      {{"合同续约沟通", "{P}续约方案确认", "续约价格谈判"},
       {"Renewal discussion", "Renewal pricing for {PE}"}},
      {{"【异议】价格高于预算", "【异议】{P}实施费用", "价格异议处理"},
       {"【异议】Price above budget", "Services fee objection"}},
      {{"需求调研：{P}", "客户需求沟通", "{T}分公司需求确认"}, {"Requirements call: {PE}"}},
      {{"合同条款确认", "订单{O}签约", "合同盖章进度"}, {"Contract terms review"}},
      {{"{P}交付进度", "上线培训安排", "项目验收沟通"},
       {"Go-live planning", "{PE} delivery status"}},
      {{"物流跟进：{K}", "发货延迟沟通", "收货地址变更"}, {"Shipment {K} delayed"}},
      {{"售后工单跟进", "{P}登录问题", "版本升级咨询"},
       {"Support ticket follow-up", "Login timeout issue"}},
      {{"客户投诉：{P}无法登录", "售后响应慢的投诉", "投诉处理回访"},
       {"Complaint: {PE} outage", "Complaint about support response"}},
      {{"{T}行业沙龙跟进", "官网留资回访", "直播活动邀约"},
       {"Webinar invitation", "Trade show lead follow-up"}},
      {{"电话回访未接通", "{P}跟进电话占线"}, {"Call attempt - no answer"}},
      {{"跟进{P}未回复", "资料发送后无回应"}, {"Follow-up email, no reply"}},
      {{"客户暂无需求", "{P}推荐被拒绝"}, {"Customer declined"}},
  };
  return *kPools;
}

inline const Pool& Closings() {
  static const auto* const kPool =
      new Pool{{"下一步：{D}前提供{P}的详细方案。", "约定{D}再次电话沟通。",
                "需要在{D}前确认预算和决策人。", "后续安排售前工程师参与下一次会议。",
                "{D}发送会议纪要给{C}确认。"},
               {"Next step: send the detailed proposal {DE}.", "Agreed to talk again {DE}.",
                "Confirm budget and decision maker {DE}."}};
  return *kPool;
}

// Openings per channel (indexed by the Channel number).
inline const std::vector<Pool>& Openings() {
  static const auto* const kPools = new std::vector<Pool>{
      {{"与客户沟通。"}, {"Talked to the customer."}},                       // unspecified
      {{"{H}与{C}电话沟通。", "{H}给{C}打电话。"}, {"Called {CE} this {HE}."}},  // phone
      {{"收到{C}的邮件回复。", "给{C}发送邮件。"}, {"Email exchange with {CE}."}},  // email
      {{"与{C}召开线上会议，参会人员包括对方IT和采购。"},
       {"Video meeting with {CE}, IT and procurement."}},  // meeting
      {{"前往客户{T}办公室拜访{C}。"}, {"Visited {CE} at their {TE} office."}},  // onsite
      {{"客户通过官网表单提交咨询。"}, {"Web form submission."}},              // web form
      {{"客户浏览了产品价格页和案例页。"}, {"Visited the pricing and case study pages."}},
      {{"客户通过在线客服咨询。"}, {"Live chat from the customer."}},  // live chat
      {{"通过企业微信与{C}沟通。", "{C}在企业微信上留言。"},
       {"Chatted with {CE} on WeCom."}},                                          // wecom
      {{"发送短信提醒{C}。"}, {"Sent an SMS reminder to {CE}."}},                // sms
      {{"客户在公众号留言。"}, {"Message on our official account."}},            // social
      {{"在{T}展会展位与{C}交流。"}, {"Met {CE} at the {TE} trade show."}},      // trade show
      {{"客户到{T}门店现场咨询。"}, {"Store visit in {TE}."}},                    // store
      {{"客户通过App内反馈入口留言。"}, {"Feedback via the in-app form."}},       // app
      {{"其他渠道转入的线索。"}, {"Lead routed from another channel."}},          // other
  };
  return *kPools;
}

inline constexpr const char* kNeedItems[] = {"统一管理销售线索", "自动记录通话", "移动端审批",
                                         "报表自动推送",     "与ERP对接",    "多组织权限",
                                         "数据本地化部署",   "Single lead inbox",
                                         "ERP integration"};
inline constexpr const char* kConcernItems[] = {"【异议】价格高于预算", "实施周期过长",
                                            "数据迁移风险",         "【异议】付款方式",
                                            "担心系统稳定性",       "Price above budget",
                                            "Long implementation"};
inline constexpr const char* kInterestItems[] = {"销售预测", "AI 外呼",  "客户画像",
                                             "营销自动化", "BI 报表", "Forecasting",
                                             "Lead scoring"};
inline constexpr const char* kTags[] = {
    "重点客户", "续约", "新客户", "大客户", "价格敏感", "待报价", "已报价", "决策人",
    "华东",     "华南", "华北",   "VIP",    "upsell",   "renewal", "POC",   "churn-risk",
    "KA",       "SMB",  "渠道",   "演示",   "售后"};
inline constexpr const char* kRoles[] = {"presales", "主讲", "售后工程师", "客户成功",
                                         "solution architect"};

}  // namespace fake_text

// Code points of UTF-8 text.
inline int CodePoints(const std::string& s) {
  int n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The first `max` code points of UTF-8 text.
inline std::string CutCodePoints(const std::string& s, int max) {
  int n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && n++ == max) return s.substr(0, i);
  }
  return s;
}

class TouchpointFaker {
 public:
  explicit TouchpointFaker(uint64_t seed) : rng_(seed) {}

  // A new touchpoint of customer `customer` (bench_ids.h) that occurred at `occur_time`,
  // with every client-settable field a realistic client would fill in. Output-only fields
  // (ids, record/update times, etag, state) are left unset.
  tpv1::Touchpoint Make(int64_t customer, absl::Time occur_time) {
    using namespace fake_text;  // NOLINT
    tpv1::Touchpoint t;
    t.set_customer_id(CustomerId(customer));
    *t.mutable_occur_time() = Ts(occur_time);
    // One contact person and (mostly) one product per touchpoint.
    contact_ = PickFrom(kContacts);
    contact_en_ = PickFrom(kContactsEn);
    product_ = PickFrom(kProducts);
    product_en_ = PickFrom(kProductsEn);

    const bool complaint = Real() < kComplaintRate;
    last_complaint_ = complaint;
    const tpv1::Channel channel = complaint ? PickChannelForComplaint() : PickChannel();
    t.set_channel(channel);
    const tpv1::Category category = complaint ? tpv1::CATEGORY_SERVICE : PickCategory(channel);
    t.set_category(category);
    t.set_direction(PickDirection(channel, complaint));
    const tpv1::Outcome outcome = complaint ? PickOf({tpv1::OUTCOME_RESOLVED,
                                                      tpv1::OUTCOME_ESCALATED,
                                                      tpv1::OUTCOME_FOLLOW_UP_NEEDED},
                                                     {45, 30, 25})
                                            : PickOutcome(channel, category);
    t.set_outcome(outcome);
    const bool failed = outcome == tpv1::OUTCOME_NO_ANSWER || outcome == tpv1::OUTCOME_BUSY ||
                        outcome == tpv1::OUTCOME_NO_REPLY || outcome == tpv1::OUTCOME_REJECTED;
    const Topic topic = complaint ? kComplaint : PickTopic(category, outcome);
    // 0 Chinese, 1 English, 2 mixed.
    const int lang = Weighted({70, 10, 20});
    // Mixed text names the contact as the Chinese text does.
    if (lang == 2) contact_en_ = contact_;

    // Text.
    std::string subject = Fill(PickFrom(Lang(TopicSubjects()[topic], lang == 1)));
    if (CodePoints(subject) < 10) subject += lang == 1 ? Fill(" - {CE}") : Fill("（{C}）");
    if (CodePoints(subject) < 10) subject += lang == 1 ? Fill(", {PE}") : Fill("：{P}");
    t.set_subject(CutCodePoints(subject, 30));
    // A failed attempt gets a one-line summary and a short note; the others a summary of
    // 50-200 code points and notes of 200-1,500, mostly short (mean ~320). Text is what
    // makes a row big: ~14 bytes per code point with its search tokens and their index, so
    // these lengths decide whether 10M touchpoints fit on the benchmark machine's disk.
    t.set_summary(Paragraph(topic, lang, failed ? 1 : Uniform(50, 100), 200,
                            /*opening=*/-1, /*closing=*/false));
    int content_target = 0;
    if (failed) {
      content_target = Uniform(10, 40);
    } else {
      const int bucket = Weighted({80, 14, 6});
      content_target = bucket == 0   ? Uniform(200, 260)
                       : bucket == 1 ? Uniform(260, 600)
                                     : Uniform(600, 1450);
    }
    t.set_content(Paragraph(topic, lang, content_target, 1500, channel, /*closing=*/true));

    // Structured fields.
    if (!failed && Real() < 0.25) AddDistinct(t.mutable_needs(), kNeedItems, Uniform(1, 3));
    if (!failed && (topic == kObjection ? Real() < 0.8 : Real() < 0.12)) {
      AddDistinct(t.mutable_concerns(), kConcernItems, Uniform(1, 2));
    }
    if (!failed && Real() < 0.2) AddDistinct(t.mutable_interests(), kInterestItems, Uniform(1, 3));

    // Sentiment and emotions.
    tpv1::Sentiment sentiment;
    if (complaint) {
      sentiment = Real() < 0.9 ? tpv1::SENTIMENT_NEGATIVE : tpv1::SENTIMENT_NEUTRAL;
    } else if (failed) {
      sentiment = PickOf({tpv1::SENTIMENT_UNSPECIFIED, tpv1::SENTIMENT_NEUTRAL,
                          tpv1::SENTIMENT_NEGATIVE},
                         {70, 20, 10});
    } else if (topic == kObjection) {
      sentiment = PickOf({tpv1::SENTIMENT_NEGATIVE, tpv1::SENTIMENT_NEUTRAL,
                          tpv1::SENTIMENT_POSITIVE},
                         {45, 45, 10});
    } else {
      sentiment = PickOf({tpv1::SENTIMENT_POSITIVE, tpv1::SENTIMENT_NEUTRAL,
                          tpv1::SENTIMENT_NEGATIVE, tpv1::SENTIMENT_UNSPECIFIED},
                         {35, 45, 12, 8});
    }
    t.set_sentiment(sentiment);
    if (complaint) {
      t.add_emotion_labels(tpv1::EMOTION_LABEL_COMPLAINT);
      const double r = Real();
      if (r < 0.5) {
        t.add_emotion_labels(tpv1::EMOTION_LABEL_ANGER);
      } else if (r < 0.8) {
        t.add_emotion_labels(tpv1::EMOTION_LABEL_ANXIETY);
      }
    } else if (sentiment == tpv1::SENTIMENT_POSITIVE) {
      const double r = Real();
      if (r < 0.15) {
        t.add_emotion_labels(tpv1::EMOTION_LABEL_PRAISE);
      } else if (r < 0.45) {
        t.add_emotion_labels(tpv1::EMOTION_LABEL_SATISFACTION);
      }
    } else if (sentiment == tpv1::SENTIMENT_NEGATIVE && Real() < 0.5) {
      t.add_emotion_labels(Real() < 0.5 ? tpv1::EMOTION_LABEL_ANXIETY
                                        : tpv1::EMOTION_LABEL_CONFUSION);
    }

    // Tags.
    const int tags = Weighted({30, 35, 20, 10, 5});
    AddDistinct(t.mutable_tags(), kTags, tags);
    if (complaint) t.add_tags("投诉");

    // Participants: nobody for self-service channels, more people at meetings.
    const bool self_service =
        channel == tpv1::CHANNEL_WEB_FORM || channel == tpv1::CHANNEL_WEBSITE_VISIT ||
        channel == tpv1::CHANNEL_APP || channel == tpv1::CHANNEL_SOCIAL_MEDIA;
    int people = 0;
    if (self_service) {
      people = Real() < 0.2 ? 1 : 0;
    } else if (channel == tpv1::CHANNEL_MEETING || channel == tpv1::CHANNEL_ONSITE_VISIT ||
               channel == tpv1::CHANNEL_TRADE_SHOW) {
      people = 1 + Weighted({60, 30, 10});
    } else {
      people = Real() < 0.95 ? 1 : 0;
    }
    std::vector<std::string> users;
    while (static_cast<int>(users.size()) < people) {
      const std::string user = Real() < 0.04 ? "partner-" + std::to_string(Uniform(1, 30))
                                             : "rep-" + std::to_string(Uniform(1, 200));
      bool seen = false;
      for (const std::string& u : users) seen = seen || u == user;
      if (seen) continue;
      users.push_back(user);
      tpv1::Participant* p = t.add_participants();
      p->set_user_id(user);
      p->set_kind(user[0] == 'p' ? tpv1::PARTICIPANT_KIND_PARTNER_USER
                                 : tpv1::PARTICIPANT_KIND_EMPLOYEE);
      p->set_role(users.size() == 1 ? "owner" : PickFrom(kRoles));
    }

    // Contact persons of the customer who took part.
    const int persons = PersonCount(customer);
    if (persons > 0 && !self_service && Real() < 0.7) {
      const int first = Uniform(0, persons - 1);
      t.add_contact_person_ids(PersonId(customer, first));
      if (persons > 1 && Real() < 0.2) t.add_contact_person_ids(PersonId(customer, (first + 1) % persons));
    }

    // Duration.
    int64_t seconds = -1;
    switch (channel) {
      case tpv1::CHANNEL_PHONE:
        seconds = failed ? Uniform(0, 40) : LogUniform(60, 30 * 60);
        break;
      case tpv1::CHANNEL_MEETING:
        seconds = Uniform(2, 8) * 15 * 60;
        break;
      case tpv1::CHANNEL_ONSITE_VISIT:
        seconds = Uniform(1, 6) * 30 * 60;
        break;
      case tpv1::CHANNEL_LIVE_CHAT:
        seconds = LogUniform(120, 20 * 60);
        break;
      case tpv1::CHANNEL_STORE_VISIT:
      case tpv1::CHANNEL_TRADE_SHOW:
        seconds = Uniform(5, 60) * 60;
        break;
      default:
        break;
    }
    if (seconds >= 0) *t.mutable_duration() = google::protobuf::util::TimeUtil::SecondsToDuration(seconds);

    // Behaviour data for web and app visits.
    if (channel == tpv1::CHANNEL_WEBSITE_VISIT || channel == tpv1::CHANNEL_APP) {
      (*t.mutable_behavior_metrics())["page_dwell_seconds"] = Uniform(5, 600);
      (*t.mutable_behavior_metrics())["pages_viewed"] = Uniform(1, 25);
    }

    // Next action.
    if ((failed && Real() < 0.5) || (!failed && !self_service && Real() < 0.35)) {
      tpv1::NextAction* next = t.mutable_next_action();
      next->set_description(Fill(PickFrom(Lang(Closings(), lang == 1))));
      if (!users.empty()) next->set_owner_id(users[0]);
      *next->mutable_due_time() = Ts(occur_time + absl::Hours(24 * Uniform(1, 14)));
    }

    // The customer's lifecycle status when this changed it.
    if (outcome == tpv1::OUTCOME_WON && Real() < 0.8) {
      t.set_customer_status_after(touchline::contacts::v1::LIFECYCLE_STATUS_CUSTOMER);
    } else if (outcome == tpv1::OUTCOME_QUOTED && Real() < 0.3) {
      t.set_customer_status_after(touchline::contacts::v1::LIFECYCLE_STATUS_HIGH_INTENT);
    } else if (outcome == tpv1::OUTCOME_DEMO_DONE && Real() < 0.3) {
      t.set_customer_status_after(touchline::contacts::v1::LIFECYCLE_STATUS_OPPORTUNITY);
    }

    // Tenant-defined attributes.
    if (Real() < 0.1) {
      auto& attrs = *t.mutable_custom_attributes();
      attrs["deal_amount"].set_double_value(Uniform(1, 500) * 1000.0);
      attrs["region"].set_string_value(PickFrom(kCities));
      if (Real() < 0.5) attrs["priority"].set_int_value(Uniform(1, 5));
    }

    // Attachments: call recordings, visit photos, quotes.
    if (!failed) {
      if (channel == tpv1::CHANNEL_PHONE && Real() < 0.15) {
        AddAttachment(t, "audio/mpeg", "录音_" + std::to_string(Uniform(100000, 999999)) + ".mp3",
                      LogUniform(200000, 20000000));
      }
      if ((channel == tpv1::CHANNEL_ONSITE_VISIT || channel == tpv1::CHANNEL_MEETING) &&
          Real() < 0.15) {
        AddAttachment(t, "image/jpeg", "现场照片_" + std::to_string(Uniform(1, 99)) + ".jpg",
                      LogUniform(300000, 6000000));
      }
      if ((topic == kQuote && Real() < 0.3) || (channel == tpv1::CHANNEL_EMAIL && Real() < 0.1)) {
        AddAttachment(t, "application/pdf",
                      "报价单_" + std::to_string(Uniform(2023001, 2026999)) + ".pdf",
                      LogUniform(50000, 3000000));
      }
    }
    return t;
  }

  // Whether the last Make() made a service complaint.
  bool last_complaint() const { return last_complaint_; }

  std::mt19937_64& rng() { return rng_; }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  double Real() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

 private:
  static google::protobuf::Timestamp Ts(absl::Time t) {
    return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
  }

  int64_t LogUniform(double lo, double hi) {
    return static_cast<int64_t>(lo * std::pow(hi / lo, Real()));
  }

  // Index of a weight, chosen in proportion to the weights.
  int Weighted(std::initializer_list<int> weights) {
    int total = 0;
    for (const int w : weights) total += w;
    int r = Uniform(0, total - 1);
    int i = 0;
    for (const int w : weights) {
      if (r < w) return i;
      r -= w;
      ++i;
    }
    return i - 1;
  }

  template <typename T>
  T PickOf(std::initializer_list<T> values, std::initializer_list<int> weights) {
    return values.begin()[Weighted(weights)];
  }

  template <size_t N>
  const char* PickFrom(const char* const (&pool)[N]) {
    return pool[Uniform(0, static_cast<int>(N) - 1)];
  }
  const char* PickFrom(const std::vector<const char*>& pool) {
    return pool[Uniform(0, static_cast<int>(pool.size()) - 1)];
  }
  static const std::vector<const char*>& Lang(const fake_text::Pool& pool, bool english) {
    return english ? pool.en : pool.zh;
  }

  template <size_t N>
  void AddDistinct(google::protobuf::RepeatedPtrField<std::string>* out,
                   const char* const (&pool)[N], int count) {
    for (int tries = 0; out->size() < count && tries < 4 * count; ++tries) {
      const char* v = PickFrom(pool);
      bool seen = false;
      for (const std::string& s : *out) seen = seen || s == v;
      if (!seen) out->Add(v);
    }
  }

  void AddAttachment(tpv1::Touchpoint& t, const char* media_type, const std::string& name,
                     int64_t size) {
    tpv1::Attachment* a = t.add_attachments();
    std::string key;
    char hex[17];
    for (int i = 0; i < 4; ++i) {
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng_()));
      key += hex;
    }
    a->set_uri("s3://touchline-attachments/" + key.substr(0, 2) + "/" + key.substr(2, 30));
    a->set_media_type(media_type);
    a->set_size_bytes(size);
    a->set_sha256(key);  // 64 lower-case hex digits.
    a->set_file_name(name);
  }

  tpv1::Channel PickChannel() {
    return PickOf({tpv1::CHANNEL_PHONE, tpv1::CHANNEL_WECOM, tpv1::CHANNEL_EMAIL,
                   tpv1::CHANNEL_ONSITE_VISIT, tpv1::CHANNEL_MEETING, tpv1::CHANNEL_LIVE_CHAT,
                   tpv1::CHANNEL_SMS, tpv1::CHANNEL_WEB_FORM, tpv1::CHANNEL_TRADE_SHOW,
                   tpv1::CHANNEL_STORE_VISIT, tpv1::CHANNEL_APP, tpv1::CHANNEL_SOCIAL_MEDIA,
                   tpv1::CHANNEL_WEBSITE_VISIT, tpv1::CHANNEL_OTHER},
                  {30, 25, 10, 7, 6, 5, 4, 4, 2, 2, 2, 1, 1, 1});
  }

  tpv1::Channel PickChannelForComplaint() {
    return PickOf({tpv1::CHANNEL_PHONE, tpv1::CHANNEL_WECOM, tpv1::CHANNEL_EMAIL,
                   tpv1::CHANNEL_LIVE_CHAT},
                  {50, 30, 10, 10});
  }

  tpv1::Category PickCategory(tpv1::Channel channel) {
    const auto pick = [&](int marketing, int sales, int service) {
      return PickOf({tpv1::CATEGORY_MARKETING, tpv1::CATEGORY_SALES, tpv1::CATEGORY_SERVICE},
                    {marketing, sales, service});
    };
    switch (channel) {
      case tpv1::CHANNEL_PHONE: return pick(10, 55, 35);
      case tpv1::CHANNEL_WECOM: return pick(15, 50, 35);
      case tpv1::CHANNEL_EMAIL: return pick(30, 40, 30);
      case tpv1::CHANNEL_ONSITE_VISIT:
      case tpv1::CHANNEL_MEETING: return pick(0, 80, 20);
      case tpv1::CHANNEL_LIVE_CHAT: return pick(0, 30, 70);
      case tpv1::CHANNEL_WEB_FORM: return pick(60, 20, 20);
      case tpv1::CHANNEL_TRADE_SHOW: return pick(80, 20, 0);
      case tpv1::CHANNEL_STORE_VISIT: return pick(0, 60, 40);
      case tpv1::CHANNEL_APP: return pick(40, 0, 60);
      case tpv1::CHANNEL_SMS: return pick(50, 20, 30);
      default: return pick(60, 30, 10);
    }
  }

  tpv1::Direction PickDirection(tpv1::Channel channel, bool complaint) {
    if (complaint) return tpv1::DIRECTION_INBOUND;
    switch (channel) {
      case tpv1::CHANNEL_WEB_FORM:
      case tpv1::CHANNEL_WEBSITE_VISIT:
      case tpv1::CHANNEL_STORE_VISIT:
      case tpv1::CHANNEL_APP:
        return tpv1::DIRECTION_INBOUND;
      case tpv1::CHANNEL_LIVE_CHAT:
        return Real() < 0.9 ? tpv1::DIRECTION_INBOUND : tpv1::DIRECTION_OUTBOUND;
      case tpv1::CHANNEL_TRADE_SHOW:
        return tpv1::DIRECTION_UNSPECIFIED;
      case tpv1::CHANNEL_SMS:
        return tpv1::DIRECTION_OUTBOUND;
      default:
        return Real() < 0.7 ? tpv1::DIRECTION_OUTBOUND : tpv1::DIRECTION_INBOUND;
    }
  }

  tpv1::Outcome PickOutcome(tpv1::Channel channel, tpv1::Category category) {
    using O = tpv1::Outcome;
    switch (channel) {
      case tpv1::CHANNEL_PHONE:
        return PickOf<O>({tpv1::OUTCOME_CONNECTED, tpv1::OUTCOME_NO_ANSWER, tpv1::OUTCOME_BUSY,
                          tpv1::OUTCOME_REJECTED, tpv1::OUTCOME_FOLLOW_UP_NEEDED,
                          tpv1::OUTCOME_QUOTED, tpv1::OUTCOME_RESOLVED},
                         {42, 27, 6, 6, 10, 5, category == tpv1::CATEGORY_SERVICE ? 15 : 2});
      case tpv1::CHANNEL_WECOM:
      case tpv1::CHANNEL_EMAIL:
      case tpv1::CHANNEL_SMS:
      case tpv1::CHANNEL_SOCIAL_MEDIA:
        return PickOf<O>({tpv1::OUTCOME_REPLIED, tpv1::OUTCOME_NO_REPLY, tpv1::OUTCOME_REJECTED,
                          tpv1::OUTCOME_QUOTED, tpv1::OUTCOME_FOLLOW_UP_NEEDED,
                          tpv1::OUTCOME_RESOLVED, tpv1::OUTCOME_UNSPECIFIED},
                         {44, 30, 4, 6, 8, category == tpv1::CATEGORY_SERVICE ? 10 : 2, 4});
      case tpv1::CHANNEL_MEETING:
      case tpv1::CHANNEL_ONSITE_VISIT:
        return PickOf<O>({tpv1::OUTCOME_MEETING_HELD, tpv1::OUTCOME_DEMO_DONE,
                          tpv1::OUTCOME_QUOTED, tpv1::OUTCOME_WON, tpv1::OUTCOME_LOST,
                          tpv1::OUTCOME_FOLLOW_UP_NEEDED},
                         {55, 15, 10, 5, 3, 12});
      case tpv1::CHANNEL_LIVE_CHAT:
      case tpv1::CHANNEL_APP:
      case tpv1::CHANNEL_WEB_FORM:
        return PickOf<O>({tpv1::OUTCOME_REPLIED, tpv1::OUTCOME_RESOLVED,
                          tpv1::OUTCOME_ESCALATED, tpv1::OUTCOME_FOLLOW_UP_NEEDED,
                          tpv1::OUTCOME_UNSPECIFIED},
                         {35, 30, 5, 15, 15});
      default:
        return PickOf<O>({tpv1::OUTCOME_CONNECTED, tpv1::OUTCOME_FOLLOW_UP_NEEDED,
                          tpv1::OUTCOME_UNSPECIFIED},
                         {40, 30, 30});
    }
  }

  fake_text::Topic PickTopic(tpv1::Category category, tpv1::Outcome outcome) {
    using namespace fake_text;  // NOLINT
    switch (outcome) {
      case tpv1::OUTCOME_NO_ANSWER:
      case tpv1::OUTCOME_BUSY: return kNoAnswer;
      case tpv1::OUTCOME_NO_REPLY: return kNoReply;
      case tpv1::OUTCOME_REJECTED: return kRejected;
      default: break;
    }
    if (category == tpv1::CATEGORY_MARKETING) return kMarketing;
    if (category == tpv1::CATEGORY_SERVICE) {
      return PickOf({kDelivery, kLogistics, kAfterSales}, {25, 20, 55});
    }
    switch (outcome) {
      case tpv1::OUTCOME_QUOTED: return kQuote;
      case tpv1::OUTCOME_DEMO_DONE: return kDemo;
      case tpv1::OUTCOME_WON: return kContract;
      case tpv1::OUTCOME_LOST: return kObjection;
      default:
        return PickOf({kQuote, kDemo, kRenewal, kObjection, kNeeds, kContract},
                      {20, 15, 15, 15, 25, 10});
    }
  }

  // Text of about `target` code points (at most `max`): an optional channel opening, topic
  // sentences mixed with general ones, an optional closing.
  std::string Paragraph(fake_text::Topic topic, int lang, int target, int max, int opening,
                        bool closing) {
    using namespace fake_text;  // NOLINT
    std::string out;
    int chars = 0;
    int sentences = 0;
    const auto append = [&](const std::string& sentence, bool english) {
      std::string piece;
      if (sentences > 0 && sentences % 4 == 0 && max > 200) {
        piece = "\n";
      } else if (english && !out.empty()) {
        piece = " ";
      }
      piece += sentence;
      const int n = CodePoints(piece);
      if (chars + n > max) return false;
      out += piece;
      chars += n;
      ++sentences;
      return true;
    };
    // English in an English text, in about 30% of a mixed text's sentences.
    const auto english = [&] { return lang == 1 || (lang == 2 && Real() < 0.3); };
    if (opening >= 0) {
      const bool en = english();
      append(Fill(PickFrom(Lang(Openings()[opening], en))), en);
    }
    const Pool& pool = TopicSentences()[topic];
    const bool failed = topic == kNoAnswer || topic == kNoReply || topic == kRejected;
    // Sentences are not repeated within one text while unused ones remain: topic sentences
    // first (the first one always: a complaint says so), general remarks mixed in, and the
    // lines of a conversation once a long note runs out of both.
    std::vector<const char*> used;
    const auto unused = [&](const std::vector<const char*>& from) -> const char* {
      std::vector<const char*> left;
      for (const char* c : from) {
        if (std::find(used.begin(), used.end(), c) == used.end()) left.push_back(c);
      }
      return left.empty() ? nullptr : PickFrom(left);
    };
    bool first = true;
    int misses = 0;
    while (chars < target && misses < 8) {
      const bool en = english();
      const char* tmpl = nullptr;
      if (first || failed || Real() < 0.55) tmpl = unused(Lang(pool, en));
      if (tmpl == nullptr && !failed) tmpl = unused(Lang(GeneralSentences(), en));
      if (tmpl == nullptr && !failed) tmpl = unused(Lang(DialogueLines(), en));
      if (tmpl == nullptr) {
        if (failed) break;  // A failed attempt has little to say.
        tmpl = PickFrom(Lang(GeneralSentences(), en));
      }
      used.push_back(tmpl);
      if (append(Fill(tmpl), en)) {
        first = false;
      } else {
        ++misses;
      }
    }
    if (closing && !failed) {
      const bool en = english();
      append(Fill(PickFrom(Lang(Closings(), en))), en);
    }
    return out;
  }

  // Replaces the slots of a template with random values.
  std::string Fill(const char* tmpl) {
    using namespace fake_text;  // NOLINT
    std::string out;
    for (const char* p = tmpl; *p;) {
      if (*p != '{') {
        out += *p++;
        continue;
      }
      const char* end = p + 1;
      while (*end && *end != '}') ++end;
      const std::string slot(p + 1, end);
      p = *end ? end + 1 : end;
      if (slot == "P") {
        out += Real() < 0.8 ? product_ : PickFrom(kProducts);
      } else if (slot == "PE") {
        out += Real() < 0.8 ? product_en_ : PickFrom(kProductsEn);
      } else if (slot == "C") {
        out += contact_;
      } else if (slot == "CE") {
        out += contact_en_;
      } else if (slot == "N") {
        out += std::to_string(Uniform(2, 50));
      } else if (slot == "M") {
        out += std::to_string(Uniform(3, 120)) + "." + std::to_string(Uniform(0, 9)) + "万";
      } else if (slot == "ME") {
        out += "RMB " + std::to_string(Uniform(30, 1200)) + ",000";
      } else if (slot == "X") {
        out += std::to_string(Uniform(5, 30));
      } else if (slot == "D") {
        out += Real() < 0.5 ? std::string(PickFrom(kDates))
                            : std::to_string(Uniform(1, 12)) + "月" +
                                  std::to_string(Uniform(1, 28)) + "日";
      } else if (slot == "DE") {
        out += PickFrom(kDatesEn);
      } else if (slot == "T") {
        out += PickFrom(kCities);
      } else if (slot == "TE") {
        out += PickFrom(kCitiesEn);
      } else if (slot == "O") {
        out += "SO" + std::to_string(Uniform(20000000, 29999999));
      } else if (slot == "K") {
        out += "SF" + std::to_string(Uniform(100000, 999999)) + std::to_string(Uniform(100000, 999999));
      } else if (slot == "H") {
        out += PickFrom(kDayParts);
      } else if (slot == "HE") {
        out += PickFrom(kDayPartsEn);
      } else {
        out += "{" + slot + "}";
      }
    }
    return out;
  }

  std::mt19937_64 rng_;
  bool last_complaint_ = false;
  const char* contact_ = "";
  const char* contact_en_ = "";
  const char* product_ = "";
  const char* product_en_ = "";
};

}  // namespace touchline::bench

#endif  // TOUCHLINE_BENCH_TOUCHPOINTS_FAKE_H_
