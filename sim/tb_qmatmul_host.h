/* sim/tb_qmatmul_host.h: the two hosts of sim/tb_qmatmul.cpp, which hand a sequence of
 * qmatmul calls to the model the way a driver does and record each completion (status, cycle)
 * in a chain_out: pin_host on the datapath's pins (hw/qmatmul_core.v: start held until ready,
 * done answered by a one-cycle cont) and axil_host on the kernel top's s_axi_control
 * (hw/qmatmul_rtl.v: XRT's sequence for an ap_ctrl_chain kernel). Both follow host_cfg (eager
 * or serial hand-over, polling or interrupt, a late ap_continue) and set chain_out::err on the
 * first protocol violation they see. Included by tb_qmatmul.cpp after its types (model_t,
 * call_t, host_cfg, chain_out, bench, MEM_BASE); not a standalone header. */
#ifndef FLARE_SIM_TB_QMATMUL_HOST_H
#define FLARE_SIM_TB_QMATMUL_HOST_H

/* what both hosts work on: the model, the calls, the host's behaviour, the results */
struct host_base {
    model_t *m;
    const std::vector<call_t> &calls;
    const host_cfg &h;
    tb_rng &r;
    chain_out &o;
    const bench &b;
    host_base(model_t *mm, const std::vector<call_t> &c, const host_cfg &hc, tb_rng &rr,
              chain_out &oo, const bench &bb)
        : m(mm), calls(c), h(hc), r(rr), o(oo), b(bb)
    {
    }
};

#ifndef TB_KERNEL_TOP
/* ---- the host on the datapath's pins: `start` (with the arguments) held until `ready`;
 * each `done` answered by a one-cycle `cont` ---- */
struct pin_host : host_base {
    size_t next = 0, n_acked = 0; /* calls taken, completions continued */
    uint64_t cont_at = UINT64_MAX;
    bool cont_now = false, taken = false;
    using host_base::host_base;
    void drive()
    {
        bool can = next < calls.size() && (h.eager || n_acked == next);
        m->start = can;
        if (can) {
            const call_t &c = calls[next];
            m->arg_w = MEM_BASE + c.w;
            m->arg_w_up = MEM_BASE + c.w_up;
            m->arg_x = MEM_BASE + c.x;
            m->arg_norm_w = MEM_BASE + c.norm_w;
            m->arg_r = MEM_BASE + c.r;
            m->arg_y = MEM_BASE + c.y;
            m->arg_wtype = c.wtype;
            m->arg_n = c.n;
            m->arg_k = c.k;
            m->arg_t = c.t;
            m->arg_flags = c.flags;
            m->arg_eps = tb_u(c.eps);
        } else { /* garbage on the pins while start is low */
            m->arg_n = r.u32();
            m->arg_k = r.u32();
        }
        cont_now = b.cyc == cont_at;
        m->cont = cont_now;
    }
    void sample()
    {
        taken = m->ready;
        if (m->ready && !m->start)
            o.err = "ready without start";
    }
    void after()
    {
        if (taken)
            next++;
        if (cont_now) {
            n_acked++;
            cont_at = UINT64_MAX;
        }
        if (m->done) {
            if (o.status.size() > n_acked)
                o.err = "a completion before the previous one's cont";
            else if (o.status.size() >= next)
                o.err = "a completion with no call taken";
            o.status.push_back(m->status);
            o.done_cyc.push_back(b.cyc);
            cont_at = b.cyc + r.below(h.cont_max + 1);
        } else if (o.status.size() > n_acked && m->status != o.status.back()) {
            o.err = "status changed before cont";
        }
    }
    bool finished() const { return n_acked == calls.size(); }
    void end()
    {
        m->start = 0;
        m->cont = 0;
        if (o.err.empty() && !m->idle)
            o.err = "not idle after the last completion";
    }
};
typedef pin_host host_t;
#else
/* ---- the host on s_axi_control: XRT's sequence for an ap_ctrl_chain kernel ----
 * GIE and IER once; per call the argument words and ap_start, the next call's as soon as
 * ap_start reads 0 (eager) or after the previous continue; a completion (ap_done seen by a
 * poll of the control word, or the interrupt and then the control word) is served by reading
 * the status, clearing ISR bit 0 and writing ap_continue. One AXI4-Lite operation at a time
 * from the front of a queue. */
enum op_kind {
    K_WRITE, K_START, K_CONT, K_CTRL, K_CTRL_SVC, K_STATUS, K_ISR_SET, K_ISR_CLR, K_HOLD_ST,
    K_HOLD_CTRL, K_FINAL, K_DELAY
};
struct ctl_op {
    op_kind kind;
    bool write;
    uint32_t addr, data; /* data: to write, as read, or the cycles of a K_DELAY */
};
struct ctl_state {
    bool resp = false; /* address/data phase done, waiting for B / R */
    bool aw_done = false, w_done = false;
    bool complete = false; /* the front operation finished this cycle */
};

struct axil_host : host_base {
    std::deque<ctl_op> ops;
    ctl_state cs;
    size_t next = 0, n_acked = 0; /* calls handed over (ap_start written), continued */
    bool start_pending = false;   /* the last ap_start not yet seen cleared */
    bool done_seen = false;       /* a control-word read saw ap_done (and cleared it) */
    bool in_service = false, final_q = false, fin = false;
    axil_host(model_t *mm, const std::vector<call_t> &c, const host_cfg &hc, tb_rng &rr,
              chain_out &oo, const bench &bb)
        : host_base(mm, c, hc, rr, oo, bb)
    {
        ops.push_back({K_WRITE, true, FL_REG_GIE, 1});
        ops.push_back({K_WRITE, true, FL_REG_IER, 1});
    }
    void drive()
    {
        bool have = !ops.empty() && !cs.complete && ops.front().kind != K_DELAY;
        const ctl_op *op = have ? &ops.front() : nullptr;
        m->s_axi_control_AWVALID = have && op->write && !cs.resp && !cs.aw_done;
        m->s_axi_control_AWADDR = have ? op->addr : 0;
        m->s_axi_control_WVALID = have && op->write && !cs.resp && !cs.w_done;
        m->s_axi_control_WDATA = have ? op->data : 0;
        m->s_axi_control_WSTRB = 0xf;
        m->s_axi_control_BREADY = have && op->write && cs.resp;
        m->s_axi_control_ARVALID = have && !op->write && !cs.resp;
        m->s_axi_control_ARADDR = have ? op->addr : 0;
        m->s_axi_control_RREADY = have && !op->write && cs.resp;
    }
    /* after eval, before the edge: the handshakes of this cycle */
    void sample()
    {
        if (ops.empty() || cs.complete)
            return;
        ctl_op &f = ops.front();
        if (f.kind == K_DELAY) {
            if (f.data <= 1)
                cs.complete = true;
            else
                f.data--;
            return;
        }
        bool aw = m->s_axi_control_AWVALID && m->s_axi_control_AWREADY;
        bool w = m->s_axi_control_WVALID && m->s_axi_control_WREADY;
        bool bh = m->s_axi_control_BREADY && m->s_axi_control_BVALID;
        bool ar = m->s_axi_control_ARVALID && m->s_axi_control_ARREADY;
        bool rh = m->s_axi_control_RREADY && m->s_axi_control_RVALID;
        if (rh)
            f.data = m->s_axi_control_RDATA;
        cs.aw_done |= aw;
        cs.w_done |= w;
        if (f.write && cs.aw_done && cs.w_done)
            cs.resp = true;
        if (ar)
            cs.resp = true;
        if (bh || rh) {
            cs.resp = cs.aw_done = cs.w_done = false;
            cs.complete = true;
        }
    }
    void process(const ctl_op &op)
    {
        switch (op.kind) {
        case K_START:
            start_pending = true;
            next++;
            break;
        case K_CONT:
            n_acked++;
            in_service = false;
            break;
        case K_CTRL:
        case K_CTRL_SVC:
            start_pending = (op.data & FL_CTRL_START) != 0;
            done_seen |= (op.data & FL_CTRL_DONE) != 0;
            if (op.data & FL_CTRL_CONTINUE)
                o.err = "ap_continue reads 1";
            if (op.kind == K_CTRL_SVC && !done_seen)
                o.err = "interrupt without ap_done";
            break;
        case K_STATUS:
            if (o.status.size() >= next)
                o.err = "a completion with no call handed over";
            done_seen = false;
            o.status.push_back(op.data);
            o.done_cyc.push_back(b.cyc);
            if (o.status.size() == next && !b.ports_idle())
                o.err = "ap_done with AXI transactions open (no call in the kernel)";
            break;
        case K_ISR_SET:
            if (!(op.data & 1u))
                o.err = "ISR ap_done not set after ap_done";
            break;
        case K_ISR_CLR:
            if (op.data & 1u)
                o.err = "ISR ap_done set (not cleared by writing 1, or a second ap_done)";
            break;
        case K_HOLD_ST:
            if (op.data != o.status.back())
                o.err = "status changed before ap_continue";
            break;
        case K_HOLD_CTRL:
            start_pending = (op.data & FL_CTRL_START) != 0;
            if (op.data & FL_CTRL_DONE)
                o.err = "ap_done before ap_continue";
            break;
        case K_FINAL:
            if ((op.data & 0x1fu) != FL_CTRL_IDLE)
                o.err = "control word after the last call is not ap_idle only";
            fin = true;
            break;
        default:
            break;
        }
    }
    void decide()
    {
        size_t n_done = o.status.size();
        if (n_acked == calls.size() && next == calls.size()) {
            if (!final_q)
                ops.push_back({K_FINAL, false, FL_REG_CTRL, 0});
            final_q = true;
            return;
        }
        bool irq = m->__SYM__interrupt;
        if (!in_service && n_done == n_acked && n_done < next && (h.poll ? done_seen : irq)) {
            in_service = true;
            if (!h.poll)
                ops.push_back({K_CTRL_SVC, false, FL_REG_CTRL, 0});
            ops.push_back({K_STATUS, false, FL_QMATMUL_REG_STATUS, 0});
            if (h.checks)
                ops.push_back({K_ISR_SET, false, FL_REG_ISR, 0});
            ops.push_back({K_WRITE, true, FL_REG_ISR, 1});
            if (h.checks)
                ops.push_back({K_ISR_CLR, false, FL_REG_ISR, 0});
            uint32_t d = h.cont_max ? r.below(h.cont_max + 1) : 0;
            if (d) {
                ops.push_back({K_DELAY, false, 0, d});
                ops.push_back({K_HOLD_ST, false, FL_QMATMUL_REG_STATUS, 0});
                ops.push_back({K_ISR_CLR, false, FL_REG_ISR, 0});
                ops.push_back({K_HOLD_CTRL, false, FL_REG_CTRL, 0});
            }
            ops.push_back({K_CONT, true, FL_REG_CTRL, FL_CTRL_CONTINUE});
            return;
        }
        if (next < calls.size() && !start_pending && (h.eager || n_acked == next)) {
            const call_t &c = calls[next];
            fl_kernel_call call;
            std::memset(&call, 0, sizeof call);
            call.kernel = FL_KERNEL_QMATMUL;
            call.u.qmm.w = MEM_BASE + c.w;
            call.u.qmm.w_up = MEM_BASE + c.w_up;
            call.u.qmm.x = MEM_BASE + c.x;
            call.u.qmm.norm_w = MEM_BASE + c.norm_w;
            call.u.qmm.r = MEM_BASE + c.r;
            call.u.qmm.y = MEM_BASE + c.y;
            call.u.qmm.wtype = c.wtype;
            call.u.qmm.n = c.n;
            call.u.qmm.k = c.k;
            call.u.qmm.t = c.t;
            call.u.qmm.flags = c.flags;
            call.u.qmm.eps = c.eps;
            uint32_t regs[FL_QMATMUL_REG_END / 4u] = {0};
            fl_kernel_regs(&call, regs);
            for (uint32_t a = FL_REG_ARGS; a < FL_QMATMUL_REG_STATUS; a += 4)
                ops.push_back({K_WRITE, true, a, regs[a / 4]});
            ops.push_back({K_START, true, FL_REG_CTRL, FL_CTRL_START});
            return;
        }
        if (start_pending || (h.poll && n_done < next))
            ops.push_back({K_CTRL, false, FL_REG_CTRL, 0});
        /* else: wait for the interrupt */
    }
    void after()
    {
        if (cs.complete) {
            cs.complete = false;
            ctl_op op = ops.front();
            ops.pop_front();
            process(op);
        }
        if (ops.empty() && !fin && o.err.empty())
            decide();
    }
    bool finished() const { return fin; }
    void end()
    {
        if (o.err.empty() && m->__SYM__interrupt)
            o.err = "interrupt still high after ISR cleared";
    }
};
typedef axil_host host_t;
#endif

#endif
