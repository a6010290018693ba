/* GridWatch page texts: Chinese by default, English switchable (kept in localStorage). */
(function () {
  "use strict";
  var T = {
    zh: {
      app_sub: "社区隐患监测", login_name: "用户名", password: "密码", log_in: "登录", log_out: "退出",
      bad_login: "用户名或密码错误", too_many: "失败次数过多，请稍后再试", network_error: "网络错误",
      nav_inbox: "待办", nav_overview: "总览", nav_devices: "设备", nav_stats: "统计",
      devices: "设备总数", online: "在线", in_alarm: "报警", in_fault: "故障", low_battery: "低电量",
      open_alerts: "未处理警情", critical: "紧急", warning: "警告", info: "提示",
      all_companies: "全部物业", all: "全部", state: "状态", kind: "类型", building: "楼栋",
      battery: "电量", search: "搜索", place: "位置", last_seen: "最后上报", responsible: "责任人",
      prev: "上一页", next: "下一页", no_alerts: "暂无未处理警情", mine: "我的",
      ack: "确认接警", on_site: "已到场", resolve: "处置完成", close: "回访关闭", note: "处置说明",
      outcome: "结果", submit: "提交", cancel: "取消", timeline: "处置记录", contacts: "紧急联系人",
      elderly_alone: "独居老人", history: "历史曲线", events: "警情记录", alerts: "警情",
      period: "时段", from: "从", to: "到", by_grid: "按网格", by_company: "按物业", apply: "查询",
      ack_median: "接警时间中位数（分）", resolve_median: "处置时间中位数（分）",
      in_grid_share: "网格内解决占比（%）", false_share: "误报占比（%）", total: "合计",
      export_alerts: "导出警情 CSV", export_devices: "导出设备 CSV", group: "分组", count: "数量",
      s_alarm: "报警", s_fault: "故障", s_offline: "离线", s_ok: "正常", s_unknown: "未上报",
      st_raised: "待确认", st_acknowledged: "已确认", st_on_site: "已到场", st_resolved: "已处置", st_closed: "已关闭",
      o_real_hazard: "真实隐患", o_false_alarm: "误报", o_device_fault: "设备故障", o_cleared_by_itself: "自行恢复",
      h_gas: "燃气泄漏", h_co: "一氧化碳", h_smoke: "烟雾报警", h_heat: "高温报警", h_water_leak: "漏水",
      h_door_open: "门未关", h_door_night: "夜间开门", h_welfare: "独居老人未活动", h_offline: "设备离线",
      h_unprotected: "失联超24小时", h_tamper: "设备被拆", h_battery_low: "电量低", h_stuck: "读数卡死",
      h_implausible: "读数异常", k_gas: "燃气", k_co: "一氧化碳", k_smoke: "烟感", k_heat: "温感",
      k_water: "水浸", k_door: "门磁", loading: "加载中…", not_allowed: "无权限", error: "出错了",
      read_only: "只读", actor_system: "系统", raised: "报警", acknowledged: "确认", resolved: "处置",
      cleared: "恢复", reactivated: "再次报警", severity: "级别变化", closed: "关闭", phone: "电话",
      escalated: "逐级上报", notice_suppressed: "通知暂缓", overdue: "超时未处置", flapping: "频繁波动",
      silenced: "维护静默", unsilenced: "静默结束", inhibited: "网关离线，暂不单独通知",
      uninhibited: "网关已恢复，单独通知", grouped: "并入同一事件", joined: "关联警情", retired: "设备注销",
      reopened: "重新打开", reported_again: "再次上报", h_device_retired: "设备注销",
      h_data_gap: "数据缺口", h_store_unreachable: "数据库不可达", h_illegal_wiring: "乱拉电线",
      h_broken_unit_door: "楼宇门故障", h_leaking_pipe: "水管漏水", h_gas_pipe: "煤气管道",
      h_blocked_fire_exit: "消防通道堵塞", h_other: "其他隐患", hushed: "消音", hush: "消音10分钟",
      nav_silences: "维护静默", nav_users: "用户", silence_hint: "维护或检修期间，所选范围内的警情照常记录和显示，但暂不通知；到期后仍未处理的警情会通知责任人。",
      sil_active: "生效中", sil_scheduled: "未开始", sil_expired: "已结束", lift: "提前结束", no_silences: "当前没有维护静默",
      reason: "原因", hours: "小时", duration: "时长", add_silence: "设置维护静默",
      u_login: "用户名", u_name: "姓名", u_role: "角色", u_worker_id: "对应网格员编号", u_grids: "网格",
      u_property_company: "物业公司", u_household: "住户", u_password: "新密码", u_places: "范围", u_disabled: "停用",
      save_user: "新增或修改用户", edit: "修改", delete: "删除", audit: "操作日志",
      role_grid_worker: "网格员", role_property_manager: "物业", role_maintenance: "维修", role_leader: "社区领导",
      role_resident: "住户", role_admin: "管理员"
    },
    en: {
      app_sub: "community hazard monitoring", login_name: "Login", password: "Password", log_in: "Log in",
      log_out: "Log out", bad_login: "Wrong login or password", too_many: "Too many failed logins; try later",
      network_error: "Network error", nav_inbox: "Inbox", nav_overview: "Overview", nav_devices: "Devices",
      nav_stats: "Statistics", devices: "Devices", online: "Online", in_alarm: "In alarm", in_fault: "In fault",
      low_battery: "Low battery", open_alerts: "Open alerts", critical: "Critical", warning: "Warning",
      info: "Info", all_companies: "All companies", all: "All", state: "State", kind: "Kind",
      building: "Building", battery: "Battery", search: "Search", place: "Place", last_seen: "Last seen",
      responsible: "Responsible", prev: "Previous", next: "Next", no_alerts: "No open alerts", mine: "Mine",
      ack: "Acknowledge", on_site: "On site", resolve: "Resolve", close: "Close after visit", note: "Note",
      outcome: "Outcome", submit: "Submit", cancel: "Cancel", timeline: "Timeline",
      contacts: "Emergency contacts", elderly_alone: "Elderly living alone", history: "History",
      events: "Alerts and events", alerts: "Alerts", period: "Period", from: "From", to: "To",
      by_grid: "By grid", by_company: "By property company", apply: "Show",
      ack_median: "Median time to acknowledge (min)", resolve_median: "Median time to resolve (min)",
      in_grid_share: "Resolved inside the grid (%)", false_share: "False alarms (%)", total: "Total",
      export_alerts: "Export alerts (CSV)", export_devices: "Export devices (CSV)", group: "Group",
      count: "Alerts", s_alarm: "Alarm", s_fault: "Fault", s_offline: "Offline", s_ok: "OK",
      s_unknown: "Never seen", st_raised: "Raised", st_acknowledged: "Acknowledged", st_on_site: "On site",
      st_resolved: "Resolved", st_closed: "Closed", o_real_hazard: "Real hazard", o_false_alarm: "False alarm",
      o_device_fault: "Device fault", o_cleared_by_itself: "Cleared by itself", h_gas: "Gas leak",
      h_co: "Carbon monoxide", h_smoke: "Smoke alarm", h_heat: "Heat alarm", h_water_leak: "Water leak",
      h_door_open: "Door left open", h_door_night: "Door opened at night", h_welfare: "Welfare check",
      h_offline: "Device offline", h_unprotected: "Out of contact 24 h", h_tamper: "Tampered",
      h_battery_low: "Battery low", h_stuck: "Stuck reading", h_implausible: "Implausible reading",
      k_gas: "Gas", k_co: "CO", k_smoke: "Smoke", k_heat: "Heat", k_water: "Water", k_door: "Door",
      loading: "Loading…", not_allowed: "Not allowed", error: "Something went wrong", read_only: "read-only",
      actor_system: "system", raised: "raised", acknowledged: "acknowledged", resolved: "resolved",
      cleared: "cleared", reactivated: "reactivated", severity: "severity changed", closed: "closed",
      phone: "Phone",
      escalated: "escalated", notice_suppressed: "notices held", overdue: "overdue", flapping: "flapping",
      silenced: "silenced", unsilenced: "silence over", inhibited: "inhibited (gateway offline)",
      uninhibited: "gateway back: notified on its own", grouped: "part of an incident",
      joined: "alert joined the incident", retired: "device retired", reopened: "reopened",
      reported_again: "reported again", h_device_retired: "device retired", h_data_gap: "data gap",
      h_store_unreachable: "database unreachable", h_illegal_wiring: "illegal wiring",
      h_broken_unit_door: "broken unit door", h_leaking_pipe: "leaking pipe", h_gas_pipe: "gas pipe",
      h_blocked_fire_exit: "blocked fire exit", h_other: "other hazard", hushed: "hushed", hush: "Hush 10 min",
      nav_silences: "Silences", nav_users: "Users", silence_hint: "During maintenance, alerts in the chosen place are still recorded and shown but nobody is paged; alerts still open when it ends are sent then.",
      sil_active: "active", sil_scheduled: "scheduled", sil_expired: "over", lift: "Lift now", no_silences: "No silences now",
      reason: "Reason", hours: "hours", duration: "Duration", add_silence: "Set a silence",
      u_login: "Login", u_name: "Name", u_role: "Role", u_worker_id: "Site worker id", u_grids: "Grids",
      u_property_company: "Property company", u_household: "Household", u_password: "New password", u_places: "Places",
      u_disabled: "Disabled", save_user: "Add or change a user", edit: "Edit", delete: "Delete", audit: "Operation log",
      role_grid_worker: "grid worker", role_property_manager: "property manager", role_maintenance: "maintenance",
      role_leader: "community leader", role_resident: "resident", role_admin: "admin"
    }
  };
  var lang = (function () { try { return localStorage.getItem("gw.lang") || "zh"; } catch (e) { return "zh"; } })();
  var I = {
    lang: function () { return lang; },
    t: function (key) { return (T[lang] && T[lang][key]) || T.zh[key] || key; },
    toggle: function () {
      lang = lang === "zh" ? "en" : "zh";
      try { localStorage.setItem("gw.lang", lang); } catch (e) { /* private mode */ }
    },
    apply: function (root) {
      document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
      root.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = I.t(el.getAttribute("data-i18n")); });
      var b = root.getElementById && root.getElementById("lang");
      if (b) { b.textContent = lang === "zh" ? "English" : "中文"; }
    }
  };
  window.GW_I18N = I;
})();
